"""Domain errors: a stable code for programs, a Chinese message for people, an HTTP status for the edge.

Services raise these; one handler in ``yiyue.app`` renders every one as
``{"code": ..., "message": ..., "detail": ...}``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "BAD_REQUEST"
    message: ClassVar[str] = "请求有误"

    def __init__(self, message: str | None = None, *, detail: Any = None) -> None:
        self.text = message or self.message
        self.detail = detail
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


class RateLimited(DomainError):
    status = 429
    code = "RATE_LIMITED"
    message = "操作过于频繁，请稍后再试"


class UpstreamUnavailable(DomainError):
    status = 503
    code = "UPSTREAM_UNAVAILABLE"
    message = "外部服务暂不可用，请稍后再试"
