"""HTML forms: read into a Pydantic model, every refusal as a Chinese message beside its field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from yiyue.admin.console import CSRF_FIELD
from yiyue.core import validation
from yiyue.core.field_names import field_name

M = TypeVar("M", bound=BaseModel)

# The console's own wording where it differs from the API's (``core.validation.PHRASES``, which gives
# every other message: "{title}" + "不能大于30"). Forms say "请填写医院名称", and count "字".
_CONSOLE_WORDS = {
    "missing": "请填写{title}",
    "string_too_short": "{title}至少{min_length}个字",
    "string_too_long": "{title}不能超过{max_length}个字",
}


class FormInvalid(Exception):
    """Raised by services-side checks a page wants shown beside a field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def values(form: FormData) -> dict[str, Any]:
    """The submitted fields (blank ones left out, so defaults apply), without the CSRF token."""
    fields: dict[str, Any] = {}
    for key in form:
        if key == CSRF_FIELD:
            continue
        items = [v for v in form.getlist(key) if isinstance(v, str)]
        if len(items) > 1:
            fields[key] = [v.strip() for v in items]
        elif items and items[0].strip() != "":
            fields[key] = items[0].strip()
    return fields


def parse(model: type[M], data: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
    """The model, or the Chinese error of each field (the field's ``title`` names it)."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, chinese_errors(model, exc)


def chinese_errors(model: type[BaseModel], exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        field = loc[0] if loc else "__all__"
        info = model.model_fields.get(field)
        title = (
            field_name(field, title=info.title, description=info.description, model=model.__name__)
            if info is not None
            else field
        )
        errors.setdefault(field, _message(title, error))
    return errors


def _message(title: str, error: Mapping[str, Any]) -> str:
    """ "请填写医院名称", "放号周期不能大于30"; a validator's own Chinese words as they are."""
    ctx = error.get("ctx") or {}
    words = _CONSOLE_WORDS.get(error["type"])
    if words is not None:
        return words.format(title=title, **ctx)
    own = validation.own_message(error)
    if own is not None:
        return own
    return f"{title}{validation.phrase(error)}"
