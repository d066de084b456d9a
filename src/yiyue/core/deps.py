"""FastAPI dependencies shared by every domain: the unit of work, the clock, settings, the caller.

Dependencies are ``async def`` even when they do not await: FastAPI runs a plain ``def`` dependency in
a worker thread, a hop that costs more than the work on the hot booking path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from yiyue.core.clock import Clock
from yiyue.core.config import Settings
from yiyue.core.crypto import FieldCipher
from yiyue.core.db import Database
from yiyue.core.errors import Forbidden, Unauthenticated
from yiyue.core.replica import ReplicaReads
from yiyue.core.security import Principal, RevokedFamilies, TokenVerifier


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    db: Database = request.app.state.db
    async with db.session() as session:
        yield session


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for pure reads (no unit of work to commit): ``core.cache.read_sessionmaker``. It takes a
    connection only when it first asks the database, so an answer from the cache takes none."""
    sessions: async_sessionmaker[AsyncSession] = request.app.state.read_sessions
    async with sessions() as session:
        yield session


async def _replica_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for pure reads that may lag the primary by the replica's lag (catalog, exports,
    analytics): on the read replica when one is configured, else the same as ``_read_session``
    (``core.replica``, decision 0022). Never for a read that must see the caller's own write."""
    replica: ReplicaReads = request.app.state.replica
    async with replica.sessions() as session:
        yield session


async def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _cipher(request: Request) -> FieldCipher:
    cipher: FieldCipher = request.app.state.cipher
    return cipher


# scope="function": the transaction commits before the response is sent, so a 201 is never
# acknowledged for a booking that could still roll back.
SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]
ReadSessionDep = Annotated[AsyncSession, Depends(_read_session, scope="function")]
ReplicaSessionDep = Annotated[AsyncSession, Depends(_replica_session, scope="function")]
ClockDep = Annotated[Clock, Depends(_clock)]
SettingsDep = Annotated[Settings, Depends(_settings)]
CipherDep = Annotated[FieldCipher, Depends(_cipher)]

_bearer = HTTPBearer(auto_error=False, description="登录后获得的 access_token")


async def _principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated()
    verifier: TokenVerifier = request.app.state.tokens
    clock: Clock = request.app.state.clock
    revocations: RevokedFamilies = request.app.state.revocations
    return await revocations.check(verifier.verify(credentials.credentials, kind="access", now=clock.now()))


async def _revocations(request: Request) -> RevokedFamilies:
    revocations: RevokedFamilies = request.app.state.revocations
    return revocations


RevocationsDep = Annotated[RevokedFamilies, Depends(_revocations)]


async def _account(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    if principal.role != "patient":
        raise Forbidden()
    return principal


CurrentAccount = Annotated[Principal, Depends(_account)]
