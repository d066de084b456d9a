"""Staff passwords: argon2id hashes, verified in equal time whether or not the user exists."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Module state on purpose: tests swap in cheap parameters, and a change of parameters here is picked up
# by every stored hash at its owner's next login (rehash on login).
hasher = PasswordHasher()
_dummy_hashes: dict[tuple[int, int, int, int, int], str] = {}


def dummy_hash(current: PasswordHasher) -> str:
    """A hash made with the current parameters, verified when the user does not exist, so an unknown
    username costs the same time as a wrong password."""
    key = (current.time_cost, current.memory_cost, current.parallelism, current.hash_len, current.salt_len)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = current.hash("yiyue-no-such-staff-user")
    return _dummy_hashes[key]


def verify(current: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return current.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
