"""The scope checks every staff use case applies: the hospital a record belongs to, the role that acts."""

from __future__ import annotations

from yiyue.accounts.staff.errors import ForbiddenRole
from yiyue.accounts.staff.models import StaffRole, StaffUser
from yiyue.core.errors import DomainError, NotFound


def require_hospital(staff: StaffUser, hospital_id: int, *, not_found: type[DomainError] = NotFound) -> None:
    """Staff act only on their own hospital's data; a platform admin on any.

    Another hospital's object is answered as not found (404), never forbidden, so its ids are not
    confirmed to exist.
    """
    if staff.role == StaffRole.PLATFORM_ADMIN:
        return
    if staff.hospital_id is None or staff.hospital_id != hospital_id:
        raise not_found()


def require_role(staff: StaffUser, *roles: StaffRole) -> None:
    """The staff user's role is one of ``roles``; 403 ``FORBIDDEN_ROLE`` otherwise."""
    if staff.role not in roles:
        raise ForbiddenRole()


def actor(staff: StaffUser) -> str:
    """How the staff user is named in audit rows and appointment events: ``staff:12``."""
    return f"staff:{staff.id}"
