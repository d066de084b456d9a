"""Validation errors in Chinese: each pydantic error as "字段名：问题" ("姓名：至少2个字符").

One table (``PHRASES``: pydantic v2 error type -> the problem in words, without the field) serves the
API's 422 answers (``request_error_details``, used by the app's handler) and the console's forms
(``yiyue.admin.forms``, which puts the field's name in front of the same words). Every type pydantic v2
can raise has an entry (a test compares the table with ``pydantic_core``'s list); a type it does not
know yet reads "取值无效". A validator's own Chinese message (``PydanticCustomError`` or a
``ValueError`` in Chinese) is shown as it is, never pydantic's English.

Programs keep ``loc`` and ``type``; only ``msg`` is for people. Nothing echoes the input.
"""

from __future__ import annotations

import re
import string
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from yiyue.core.field_names import BODY, UNKNOWN_FIELD, field_name, glossary_key

INVALID = "取值无效"
_DATE = "须为日期，如 2026-12-01"
_TIME = "须为时间，如 08:00"
_DATETIME = "须为日期时间，如 2026-12-01T08:00:00+08:00"
_OBJECT = "须为对象"
_LIST = "须为列表"
_NUMBER = "须为数字"
_UNSUPPORTED = "不支持该字段"
_REQUIRED = "不能为空"

PHRASES: dict[str, str] = {
    # reading the input
    "json_invalid": "不是合法的 JSON",
    "json_type": "须为 JSON 文本",
    "needs_python_object": INVALID,
    "recursion_loop": "嵌套过深",
    "recursion_depth_exceeded": "嵌套过深",
    # presence and shape
    "missing": _REQUIRED,
    "missing_sentinel_error": INVALID,
    "ellipsis_error": INVALID,
    "none_required": "须为空",
    "default_factory_not_called": INVALID,
    "frozen_field": "不可修改",
    "frozen_instance": "不可修改",
    "extra_forbidden": _UNSUPPORTED,
    "no_such_attribute": _UNSUPPORTED,
    "invalid_key": "键须为文本",
    "get_attribute_error": INVALID,
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "dataclass_type": _OBJECT,
    "dataclass_exact_type": _OBJECT,
    "dict_type": _OBJECT,
    "frozen_dict_type": _OBJECT,
    "ordered_dict_type": _OBJECT,
    "counter_type": _OBJECT,
    "mapping_type": _OBJECT,
    "named_tuple_type": _LIST,
    "list_type": _LIST,
    "deque_type": _LIST,
    "tuple_type": _LIST,
    "set_type": _LIST,
    "frozen_set_type": _LIST,
    "iterable_type": _LIST,
    "iteration_error": "无法逐项读取",
    "set_item_not_hashable": "含有无效的项",
    "too_short": "至少{min_length}项",
    "too_long": "最多{max_length}项",
    # numbers
    "greater_than": "须大于{gt}",
    "greater_than_equal": "不能小于{ge}",
    "less_than": "须小于{lt}",
    "less_than_equal": "不能大于{le}",
    "multiple_of": "须为{multiple_of}的倍数",
    "finite_number": "须为有限的数",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "int_parsing_size": "超出允许的范围",
    "int_from_float": "须为整数",
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "decimal_type": _NUMBER,
    "decimal_parsing": _NUMBER,
    "decimal_max_digits": "最多{max_digits}位数字",
    "decimal_max_places": "最多{decimal_places}位小数",
    "decimal_whole_digits": "整数部分最多{whole_digits}位",
    "fraction_type": _NUMBER,
    "fraction_parsing": _NUMBER,
    "complex_type": _NUMBER,
    "complex_str_parsing": _NUMBER,
    "bool_type": INVALID,
    "bool_parsing": INVALID,
    # text
    "string_type": "须为文本",
    "string_unicode": "须为合法的文本",
    "string_too_short": "至少{min_length}个字符",
    "string_too_long": "不能超过{max_length}个字符",
    "string_pattern_mismatch": "格式不正确",
    "string_not_ascii": "只能包含英文字母、数字和半角符号",
    "bytes_type": "须为文本",
    "bytes_too_short": "至少{min_length}个字节",
    "bytes_too_long": "不能超过{max_length}个字节",
    "bytes_invalid_encoding": "编码不正确",
    "url_type": "须为网址",
    "url_parsing": "须为网址",
    "url_syntax_violation": "须为网址",
    "url_too_long": "网址不能超过{max_length}个字符",
    "url_scheme": "网址协议不正确",
    "uuid_type": "须为 UUID",
    "uuid_parsing": "须为 UUID",
    "uuid_version": "UUID 版本不正确",
    # choices
    "enum": INVALID,
    "literal_error": INVALID,
    "union_tag_invalid": INVALID,
    "union_tag_not_found": "缺少类型标识",
    "is_instance_of": "类型不正确",
    "is_subclass_of": "类型不正确",
    "callable_type": "类型不正确",
    # dates and times
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": "须为日期，不含时间",
    "date_past": "须为过去的日期",
    "date_future": "须为将来的日期",
    "time_type": _TIME,
    "time_parsing": _TIME,
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_object_invalid": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "datetime_past": "须为过去的时间",
    "datetime_future": "须为将来的时间",
    "timezone_naive": "不能带时区",
    "timezone_aware": "须带时区，如 +08:00",
    "timezone_offset": "时区不正确",
    "time_delta_type": "须为时长",
    "time_delta_parsing": "须为时长",
    # validators and call arguments
    "value_error": INVALID,
    "assertion_error": INVALID,
    "arguments_type": INVALID,
    "missing_argument": _REQUIRED,
    "missing_keyword_only_argument": _REQUIRED,
    "missing_positional_only_argument": _REQUIRED,
    "unexpected_keyword_argument": _UNSUPPORTED,
    "unexpected_positional_argument": "多余的参数",
    "multiple_argument_values": "重复提供",
}
"""pydantic v2 error type -> the problem in Chinese, without the field's name; ``{...}`` from ``ctx``."""

SPECIAL: dict[tuple[str, object], str] = {
    ("string_too_short", 1): _REQUIRED,  # min_length=1: an empty string reads as "不能为空"
    ("too_short", 1): _REQUIRED,
}

_CJK = re.compile(r"[\u3400-\u9fff]")
_SEPARATOR = "："
_MAX_IN_MESSAGE = 3


def has_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


def own_message(error: Mapping[str, Any]) -> str | None:
    """A validator's own Chinese words (custom error types, Chinese ``ValueError``s), else None."""
    if error.get("type") in ("value_error", "assertion_error"):
        text = str((error.get("ctx") or {}).get("error", ""))
    elif error.get("type") not in PHRASES:
        text = str(error.get("msg", ""))
    else:
        return None
    return text if has_chinese(text) else None


def phrase(error: Mapping[str, Any]) -> str:
    """The problem in words, without the field: "至少2个字符", "不能为空", "格式不正确"."""
    error_type = str(error.get("type", ""))
    if (own := own_message(error)) is not None:
        return own
    ctx = error.get("ctx") or {}
    special = SPECIAL.get((error_type, ctx.get("min_length")))
    if special is not None:
        return special
    return _format(PHRASES.get(error_type, INVALID), ctx)


def message(name: str, error: Mapping[str, Any]) -> str:
    """ "姓名：至少2个字符"; a validator's own words as they are when they already name the field."""
    words = phrase(error)
    if own_message(error) is not None and words.startswith(name):
        return words
    return f"{name}{_SEPARATOR}{words}"


def _format(template: str, ctx: Mapping[str, Any]) -> str:
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    if not fields <= set(ctx):
        return INVALID
    return template.format(**{name: _number(ctx[name]) for name in fields})


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- request errors (the API's 422) ---------------------------------------------------------------------


def request_error_details(errors: Iterable[Mapping[str, Any]], route: object | None = None) -> list[dict[str, Any]]:
    """FastAPI's ``RequestValidationError.errors()`` as the API's detail: ``loc`` and ``type`` for
    programs, ``msg`` in Chinese naming the field (its schema ``title``, else the glossary, see
    ``core.field_names``). ``route`` (``request.scope["route"]``) lets a field's title be found."""
    details = []
    for error in errors:
        loc = list(error.get("loc", ()))
        name = field_name_at(loc, route)
        details.append({"loc": loc, "type": error.get("type"), "msg": message(name, error)})
    return details


def summary(details: Sequence[Mapping[str, Any]]) -> str:
    """The envelope's ``message``: the first few problems, "姓名：至少2个字符；手机号：不能为空"."""
    messages = list(dict.fromkeys(str(d["msg"]) for d in details))
    if not messages:
        return "请求参数有误"
    text = "；".join(messages[:_MAX_IN_MESSAGE])
    if len(messages) > _MAX_IN_MESSAGE:
        text += f"等{len(messages)}处问题"
    return text


def field_name_at(loc: Sequence[Any], route: object | None = None) -> str:
    """The Chinese name of the input at ``loc`` (``["body", "name"]``, ``["query", "page"]``)."""
    if not loc:
        return BODY
    source, rest = str(loc[0]), list(loc[1:])
    if source == "body" and not rest:
        return BODY
    dependant = getattr(route, "dependant", None)
    found = _locate(dependant, source, rest) if dependant is not None else None
    if found is None:
        keys = [part for part in rest if isinstance(part, str)]
        if keys:
            return field_name(keys[-1])
        return BODY if source == "body" else UNKNOWN_FIELD  # ["body", 12]: where the JSON breaks
    key, info, model, indices = found
    name = field_name(key, title=info.title, description=info.description, model=model)
    if indices:
        name += f"（第{indices[-1] + 1}项）"
    return name


_Found = tuple[str, FieldInfo, str | None, list[int]]


def _locate(dependant: Any, source: str, rest: list[Any]) -> _Found | None:
    params = list(_params(dependant, source))
    if not rest or not params:
        return None
    head = rest[0]
    if source == "body" and len(params) == 1:
        model = _models(params[0].field_info.annotation)
        if any(_model_field(m, head) is not None for m in model):
            return _descend(params[0].field_info.annotation, rest, None)
    for param in params:
        if isinstance(head, str) and glossary_key(param.alias) == glossary_key(head):
            start: _Found = (param.alias, param.field_info, None, [])
            return _descend(param.field_info.annotation, rest[1:], start)
    return None


def _params(dependant: Any, source: str) -> Iterable[Any]:
    yield from getattr(dependant, f"{source}_params", [])
    for sub in getattr(dependant, "dependencies", []):
        yield from _params(sub, source)


def _descend(annotation: Any, parts: list[Any], found: _Found | None) -> _Found | None:
    indices = list(found[3]) if found else []
    for part in parts:
        if isinstance(part, int):
            item = _item_type(annotation)
            if item is None:
                break
            indices.append(part)
            annotation = item
            continue
        hit = next(((m, f) for m in _models(annotation) if (f := _model_field(m, part)) is not None), None)
        if hit is None:
            value = _value_type(annotation)
            if value is not None:  # a dict's key
                annotation = value
            continue  # a union member's tag ("int", "function-after[...]"): the field stays the same
        model, info = hit
        found = (str(part), info, model.__name__, [])
        annotation = info.annotation
    if found is None:
        return None
    return (found[0], found[1], found[2], indices)


def _unwrap(annotation: Any) -> list[Any]:
    """The types an annotation can be: Annotated and Optional taken off, a union's members listed."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) if arg is not type(None) for t in _unwrap(arg)]
    return [annotation]


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [t for t in _unwrap(annotation) if isinstance(t, type) and issubclass(t, BaseModel)]


def _model_field(model: type[BaseModel], key: object) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias, info.validation_alias):
            return info
    return None


def _item_type(annotation: Any) -> Any | None:
    for candidate in _unwrap(annotation):
        origin = typing.get_origin(candidate)
        if origin in (list, tuple, set, frozenset) or (isinstance(origin, type) and issubclass(origin, Sequence)):
            args = [a for a in typing.get_args(candidate) if a is not Ellipsis]
            return args[0] if args else Any
    return None


def _value_type(annotation: Any) -> Any | None:
    for candidate in _unwrap(annotation):
        origin = typing.get_origin(candidate)
        if isinstance(origin, type) and issubclass(origin, Mapping):
            args = typing.get_args(candidate)
            return args[1] if len(args) == 2 else Any
    return None
