"""HTML forms: read into a Pydantic model, every refusal as a Chinese message beside its field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from yiyue.admin.console import CSRF_FIELD

M = TypeVar("M", bound=BaseModel)

_MESSAGES = {
    "missing": "请填写{title}",
    "string_too_short": "{title}至少{min_length}个字",
    "string_too_long": "{title}不能超过{max_length}个字",
    "string_pattern_mismatch": "{title}格式不正确",
    "int_parsing": "{title}须为整数",
    "int_from_float": "{title}须为整数",
    "float_parsing": "{title}须为数字",
    "decimal_parsing": "{title}须为数字",
    "decimal_max_places": "{title}最多{decimal_places}位小数",
    "greater_than": "{title}须大于{gt}",
    "greater_than_equal": "{title}不能小于{ge}",
    "less_than": "{title}须小于{lt}",
    "less_than_equal": "{title}不能大于{le}",
    "bool_parsing": "{title}取值无效",
    "time_parsing": "{title}须为时间，如 08:00",
    "date_parsing": "{title}须为日期，如 2026-12-01",
    "date_from_datetime_parsing": "{title}须为日期，如 2026-12-01",
    "enum": "{title}取值无效",
    "literal_error": "{title}取值无效",
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
        title = (info.title if info is not None else None) or field
        template = _MESSAGES.get(error["type"])
        context = {k: v for k, v in (error.get("ctx") or {}).items()}
        if template is not None:
            message = template.format(title=title, **context)
        elif error["type"] == "value_error":
            message = str(context.get("error", "")) or f"{title}取值无效"
        else:
            message = f"{title}取值无效"
        errors.setdefault(field, message)
    return errors
