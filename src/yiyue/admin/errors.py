"""Refusals on console pages are pages (or, for htmx requests, a message in the page), not JSON."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from yiyue.admin.console import LoginRequired, login_url
from yiyue.admin.templating import templates

PREFIX = "/admin"


def is_console(request: Request) -> bool:
    path = request.url.path
    return (path == PREFIX or path.startswith(PREFIX + "/")) and not path.startswith(PREFIX + "/static/")


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def error_page(request: Request, status: int, message: str) -> Response:
    """The console's answer to a refusal: the message in the page's toast for htmx, else a page."""
    if is_htmx(request):
        answer = templates.TemplateResponse(request, "partials/toast.html", {"message": message, "level": "error"})
        answer.status_code = status
        answer.headers["HX-Retarget"] = "#toast"
        answer.headers["HX-Reswap"] = "innerHTML"
        return answer
    return templates.TemplateResponse(request, "error.html", {"status": status, "message": message}, status_code=status)


async def login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = login_url(exc.next_path)
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
