"""How the fake refuses a request, and the parsing of request bodies that leads to it.

WeChat's own paths answer a ``WeChatApiError`` the way WeChat does: HTTP 200 with ``{"errcode", "errmsg"}``.
The ``/__fake__`` helpers, which WeChat does not have, answer bad input with a plain 400
(``HelperInputError``); their bodies are parsed strictly by a ``HelperBody`` model.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError


class WeChatApiError(Exception):
    """An error the fake answers the way WeChat does: HTTP 200, ``errcode`` and ``errmsg``."""

    def __init__(self, errcode: int, text: str) -> None:
        super().__init__(f"{errcode}: {text}")
        self.errcode = errcode
        self.text = text


def _rid() -> str:
    # WeChat's request id, which it appends to every error message.
    return "-".join(secrets.token_hex(4) for _ in range(3))


def wechat_error_response(error: WeChatApiError) -> JSONResponse:
    return JSONResponse({"errcode": error.errcode, "errmsg": f"{error.text}, rid: {_rid()}"})


async def wechat_json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise WeChatApiError(47001, "data format error") from exc


class HelperInputError(Exception):
    """Bad input to a ``/__fake__`` helper, answered with HTTP 400 ``{"error": "invalid_request", ...}``."""

    def __init__(self, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class HelperBody(BaseModel):
    """The JSON body of a ``/__fake__`` helper: strict types and no fields beyond the model's."""

    model_config = ConfigDict(extra="forbid", strict=True)


_Body = TypeVar("_Body", bound=HelperBody)


async def helper_body(request: Request, model: type[_Body]) -> _Body:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        detail = exc.errors(include_url=False, include_context=False, include_input=False)
        raise HelperInputError("请求参数有误", detail) from exc
