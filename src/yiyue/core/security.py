"""Our own tokens: short-lived access tokens and longer refresh tokens (JWT, HS256)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import jwt

from yiyue.core.errors import InvalidToken, TokenExpired

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


def issue_pair(
    *, secret: str, subject_id: int, role: str, now: datetime, access_ttl: timedelta, refresh_ttl: timedelta
) -> TokenPair:
    return TokenPair(
        access_token=_encode(secret, subject_id, role, "access", now, access_ttl),
        refresh_token=_encode(secret, subject_id, role, "refresh", now, refresh_ttl),
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
        return Principal(subject_id=int(claims["sub"]), role=str(claims["role"])), int(claims["exp"])
    except (KeyError, ValueError) as exc:
        raise InvalidToken() from exc


def _encode(secret: str, subject_id: int, role: str, kind: TokenKind, now: datetime, ttl: timedelta) -> str:
    claims = {
        "iss": ISSUER,
        "sub": str(subject_id),
        "role": role,
        "typ": kind,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
