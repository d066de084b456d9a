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
    """Checks signature, issuer, expiry (against our clock) and kind; raises 401 errors otherwise."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "typ"], "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    if claims["typ"] != kind:
        raise InvalidToken()
    if int(claims["exp"]) <= int(now.timestamp()):
        raise TokenExpired()
    try:
        return Principal(subject_id=int(claims["sub"]), role=str(claims["role"]))
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
