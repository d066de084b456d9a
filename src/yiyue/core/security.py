"""Our own tokens: short-lived access tokens and longer refresh tokens (JWT, HS256).

Both carry ``fam``, the token family (one login and the refresh tokens rotated from it,
``accounts.tokens``); a refresh token's ``jti`` is its row. ``RevokedFamilies`` tells the token checks
of the API which families were revoked (logout, a rotated refresh token used again).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import jwt

from yiyue.core.errors import InvalidToken, SessionRevoked, TokenExpired

TokenKind = Literal["access", "refresh"]
ALGORITHM = "HS256"
ISSUER = "yiyue"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int


@dataclass(frozen=True)
class Principal:
    """Who is calling: the subject of a verified token."""

    subject_id: int
    role: str  # "patient" for mini-program accounts; staff roles come later
    family_id: int | None = field(default=None, compare=False)
    """The token family (``fam``); None only in tokens made before families existed."""
    token_id: str = field(default="", compare=False)
    """The token's ``jti`` (a refresh token's row in ``refresh_tokens``)."""


def new_token_id() -> str:
    return secrets.token_hex(16)


def issue_pair(
    *,
    secret: str,
    subject_id: int,
    role: str,
    now: datetime,
    access_ttl: timedelta,
    refresh_ttl: timedelta,
    family_id: int | None = None,
    refresh_id: str | None = None,
) -> TokenPair:
    """An access and a refresh token; in family ``family_id`` when given, the refresh token's ``jti``
    being ``refresh_id`` (the row the caller stores)."""
    return TokenPair(
        access_token=_encode(secret, subject_id, role, "access", now, access_ttl, family_id=family_id),
        refresh_token=_encode(
            secret, subject_id, role, "refresh", now, refresh_ttl, family_id=family_id, token_id=refresh_id
        ),
        expires_in=int(access_ttl.total_seconds()),
        refresh_expires_in=int(refresh_ttl.total_seconds()),
    )


def verify(token: str, *, secret: str, kind: TokenKind, now: datetime) -> Principal:
    """Checks signature, issuer, expiry (against our clock, not the wall clock) and kind; 401 otherwise."""
    principal, expires = _decode(token, secret=secret, kind=kind)
    if expires <= int(now.timestamp()):
        raise TokenExpired()
    return principal


class TokenVerifier:
    """``verify`` with a memory of tokens already checked: a token never changes, so its signature needs
    checking once; expiry is still compared with the clock on every call."""

    def __init__(self, secret: str, *, capacity: int = 50_000) -> None:
        self._secret = secret
        self._capacity = capacity
        self._seen: dict[tuple[str, str], tuple[Principal, int]] = {}

    def verify(self, token: str, *, kind: TokenKind, now: datetime) -> Principal:
        entry = self._seen.get((token, kind))
        if entry is None:
            entry = _decode(token, secret=self._secret, kind=kind)
            if len(self._seen) >= self._capacity:
                self._seen.clear()  # crude but bounded; a miss only costs one signature check
            self._seen[(token, kind)] = entry
        principal, expires = entry
        if expires <= int(now.timestamp()):
            raise TokenExpired()
        return principal


def _decode(token: str, *, secret: str, kind: TokenKind) -> tuple[Principal, int]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            # Time claims are judged against our injectable clock by the caller, not the wall clock here.
            options={"require": ["exp", "iat", "sub", "typ"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    if claims["typ"] != kind:
        raise InvalidToken()
    try:
        family = claims.get("fam")
        principal = Principal(
            subject_id=int(claims["sub"]),
            role=str(claims["role"]),
            family_id=int(family) if family is not None else None,
            token_id=str(claims.get("jti", "")),
        )
        return principal, int(claims["exp"])
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidToken() from exc


def _encode(
    secret: str,
    subject_id: int,
    role: str,
    kind: TokenKind,
    now: datetime,
    ttl: timedelta,
    *,
    family_id: int | None = None,
    token_id: str | None = None,
) -> str:
    claims: dict[str, object] = {
        "iss": ISSUER,
        "sub": str(subject_id),
        "role": role,
        "typ": kind,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": token_id or secrets.token_hex(8),
    }
    if family_id is not None:
        claims["fam"] = family_id
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


# --- revoked token families ---------------------------------------------------------------------------


FamilyLookup = Callable[[int], Awaitable[bool]]
"""Whether the family of this id is revoked (or does not exist), asked of the database."""


class RevokedFamilies:
    """Which token families are revoked, for the token checks of every request (decision 0014).

    A family revoked by this process is known at once. Any other family is asked of the database
    (``lookup``) at most once per ``recheck_seconds`` and process: a revocation made by another process
    reaches this one within that time. Both memories are bounded; forgetting only costs a look-up.
    """

    def __init__(self, lookup: FamilyLookup, *, recheck_seconds: float = 5.0, capacity: int = 100_000) -> None:
        self._lookup = lookup
        self._recheck = recheck_seconds
        self._capacity = capacity
        self._revoked: set[int] = set()
        self._live_until: dict[int, float] = {}

    def revoked(self, family_id: int) -> None:
        """Told by the revoking use case (after its commit)."""
        if len(self._revoked) >= self._capacity:
            self._revoked.clear()
        self._revoked.add(family_id)
        self._live_until.pop(family_id, None)

    async def check(self, principal: Principal) -> Principal:
        """The principal, or ``SESSION_REVOKED`` when its family is revoked. An access token without a
        family (made before families existed, by an older version) lives out its two hours."""
        family = principal.family_id
        if family is None:
            return principal
        if family in self._revoked:
            raise SessionRevoked()
        if self._live_until.get(family, 0.0) > time.monotonic():
            return principal
        if await self._lookup(family):
            self.revoked(family)
            raise SessionRevoked()
        if len(self._live_until) >= self._capacity:
            self._live_until.clear()
        self._live_until[family] = time.monotonic() + self._recheck
        return principal
