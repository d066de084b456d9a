"""The app's real-name verification provider (``app.state.realname``) as a route dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from yiyue.accounts.realname import RealNameProvider


async def _realname_provider(request: Request) -> RealNameProvider:
    provider: RealNameProvider = request.app.state.realname
    return provider


RealNameDep = Annotated[RealNameProvider, Depends(_realname_provider)]
