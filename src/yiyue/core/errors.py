"""Domain errors: a stable code for programs, a Chinese message for people, an HTTP status for the edge.

Services raise these; one handler in ``yiyue.app`` renders every one as
``{"code": ..., "message": ..., "detail": ...}`` (``ErrorOut``). Endpoints declare the ones they can
answer with ``responses=responses(...)``, so the codes are part of the OpenAPI contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "BAD_REQUEST"
    message: ClassVar[str] = "请求有误"

    def __init__(
        self, message: str | None = None, *, detail: Any = None, headers: Mapping[str, str] | None = None
    ) -> None:
        self.text = message or self.message
        self.detail = detail
        self.headers = headers  # sent with the answer, e.g. Retry-After of a 429
        super().__init__(f"{self.code}: {self.text}")


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"
    message = "请求的资源不存在"


class Unauthenticated(DomainError):
    status = 401
    code = "UNAUTHENTICATED"
    message = "请先登录"


class TokenExpired(Unauthenticated):
    code = "TOKEN_EXPIRED"
    message = "登录已过期，请重新登录"


class InvalidToken(Unauthenticated):
    code = "INVALID_TOKEN"
    message = "登录凭证无效，请重新登录"


class SessionRevoked(Unauthenticated):
    """The token's family was revoked (logout, or a rotated refresh token used again): ``accounts.tokens``."""

    code = "SESSION_REVOKED"
    message = "登录已失效（已退出或在别处被注销），请重新登录"


class Forbidden(DomainError):
    status = 403
    code = "FORBIDDEN"
    message = "无权执行此操作"


class Conflict(DomainError):
    status = 409
    code = "CONFLICT"
    message = "操作与当前状态冲突"


class InvalidInput(DomainError):
    status = 422
    code = "VALIDATION_ERROR"
    message = "请求参数有误"


class InvalidDateRange(InvalidInput):
    """Dates a request asks for that lie outside what the endpoint shows (past the release window, long
    ago), or a range that runs backwards or is too long (``core.params.date_range``)."""

    code = "INVALID_DATE_RANGE"
    message = "日期范围无效"


class RateLimited(DomainError):
    status = 429
    code = "RATE_LIMITED"
    message = "操作过于频繁，请稍后再试"


class UpstreamUnavailable(DomainError):
    status = 503
    code = "UPSTREAM_UNAVAILABLE"
    message = "外部服务暂不可用，请稍后再试"


class MalformedJson(DomainError):
    """A request body that is not JSON (or not UTF-8). The app's validation handler answers it; services
    never raise it. Declared here so endpoints with a body can list it (``BODY_ERRORS``)."""

    status = 400
    code = "MALFORMED_JSON"
    message = "请求体不是合法的 JSON"


class PayloadTooLarge(DomainError):
    """A request body over the size limit (``core.bodylimit``, before anything parses it)."""

    status = 413
    code = "PAYLOAD_TOO_LARGE"
    message = "请求内容过大"


# --- the errors in the OpenAPI document -----------------------------------------------------------


class ErrorOut(BaseModel):
    """The body of every error answer."""

    code: str = Field(description="稳定的错误码，供程序判断；各接口可能的取值见其错误响应的 x-error-codes")
    message: str = Field(description="给用户看的中文说明")
    detail: Any = Field(description="补充信息：参数校验错误时是出错字段的列表，多数错误为 null")


ERROR_CODES_KEY = "x-error-codes"
"""The key, in each error response of the OpenAPI document, of the list of codes it can carry."""

AUTH_ERRORS: tuple[type[DomainError], ...] = (Unauthenticated, TokenExpired, InvalidToken, SessionRevoked, Forbidden)
"""What a logged-in patient's endpoint (``CurrentAccount``) can answer before it runs: no, a bad or an
expired token (401), or a token that is not a patient's (403)."""

INPUT_ERRORS: tuple[type[DomainError], ...] = (InvalidInput,)
"""What an endpoint with path or query parameters can answer when they do not validate (422)."""

DATE_RANGE_ERRORS: tuple[type[DomainError], ...] = (InvalidInput, InvalidDateRange)
"""What an endpoint taking a date range (``?start=&end=``) can answer: a date that is not one, or a range
outside what it shows (422)."""

BODY_ERRORS: tuple[type[DomainError], ...] = (MalformedJson, InvalidInput, PayloadTooLarge)
"""What an endpoint with a JSON body can answer when it cannot be read (400), does not validate (422) or is
too large (413, ``core.bodylimit``)."""


def responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that can answer with these errors, e.g.
    ``responses(*AUTH_ERRORS, *INPUT_ERRORS, HospitalNotFound)``.

    One entry per HTTP status (ascending), each with the ``ErrorOut`` model, a Chinese description
    listing its codes, one example per code, and the codes themselves under ``x-error-codes`` for
    programs. Codes keep the order given; a code given twice (or by two classes) counts once, so
    shared tuples can be combined freely.
    """
    by_status: dict[int, dict[str, type[DomainError]]] = {}
    for error in errors:
        by_status.setdefault(error.status, {}).setdefault(error.code, error)
    return {status: _response(list(by_code.values())) for status, by_code in sorted(by_status.items())}


def _response(errors: list[type[DomainError]]) -> dict[str, Any]:
    lines = "\n".join(f"- `{e.code}`：{e.message}" for e in errors)
    return {
        "model": ErrorOut,
        "description": f"可能的错误码：\n\n{lines}",
        "content": {
            "application/json": {
                "examples": {
                    e.code: {"summary": e.message, "value": {"code": e.code, "message": e.message, "detail": None}}
                    for e in errors
                }
            }
        },
        ERROR_CODES_KEY: [e.code for e in errors],
    }
