"""Validation errors in Chinese: one phrase for every pydantic error type, a Chinese name for every input."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any, Literal, get_args

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from yiyue.app import create_app
from yiyue.core.config import Settings
from yiyue.core.field_names import UNKNOWN_FIELD, description_lead, field_name
from yiyue.core.validation import INVALID, PHRASES, field_name_at, message, phrase, request_error_details, summary

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=30)
    code: str = Field(min_length=1)
    count: int = Field(gt=0, le=30)
    day: date | None = None
    kind: Literal["a", "b"] = "a"
    tags: list[str] = Field(default_factory=list, max_length=2)
    flag: bool = False


def errors_of(**data: Any) -> list[ErrorDetails]:
    base: dict[str, Any] = {"name": "张三", "code": "x", "count": 1}
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate({**base, **data})
    return caught.value.errors()


def only(**data: Any) -> ErrorDetails:
    [error] = errors_of(**data)
    return error


# --- the table ------------------------------------------------------------------------------------------


def test_every_error_type_pydantic_can_raise_has_chinese_words() -> None:
    error_types = set(get_args(ErrorType))

    assert error_types - set(PHRASES) == set()
    for words in PHRASES.values():
        assert CJK.search(words), words


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"name": "张"}, "至少2个字符"),
        ({"name": "张" * 31}, "不能超过30个字符"),
        ({"code": ""}, "不能为空"),  # min_length 1
        ({"count": 0}, "须大于0"),
        ({"count": 31}, "不能大于30"),
        ({"count": "many"}, "须为整数"),
        ({"count": 1.5}, "须为整数"),
        ({"day": "2026-02-30"}, "须为日期，如 2026-12-01"),
        ({"kind": "c"}, INVALID),
        ({"tags": ["a", "b", "c"]}, "最多2项"),
        ({"tags": "a"}, "须为列表"),
        ({"flag": "maybe"}, INVALID),
        ({"name": ["张三"]}, "须为文本"),
        ({"extra": 1}, "不支持该字段"),
    ],
)
def test_the_words_of_a_real_error(data: dict[str, Any], expected: str) -> None:
    assert phrase(only(**data)) == expected


def test_a_missing_field_cannot_be_empty() -> None:
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate({"name": "张三", "code": "x"})

    assert phrase(caught.value.errors()[0]) == "不能为空"


def test_a_message_names_the_field_before_the_words() -> None:
    assert message("姓名", only(name="张")) == "姓名：至少2个字符"


def test_a_type_pydantic_adds_later_reads_as_an_invalid_value_never_english() -> None:
    error = {"type": "brand_new_type", "loc": ("x",), "msg": "Input should be shiny", "input": 1}

    assert phrase(error) == INVALID


class Checked(BaseModel):
    name: str

    @field_validator("name")
    @classmethod
    def _chinese(cls, value: str) -> str:
        if value == "own":
            raise PydanticCustomError("person_name", "姓名须为2-30个汉字或字母，可含·")
        if value == "zh":
            raise ValueError("须与身份证一致")
        raise ValueError("must match the ID card")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("own", "姓名须为2-30个汉字或字母，可含·"),  # names the field already: as it is
        ("zh", "姓名：须与身份证一致"),
        ("en", "姓名：取值无效"),  # an English ValueError is not shown
    ],
)
def test_a_validators_own_chinese_words_are_kept(value: str, expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Checked.model_validate({"name": value})

    assert message("姓名", caught.value.errors()[0]) == expected


def test_the_summary_lists_the_first_three_problems() -> None:
    details = [{"msg": f"字段{i}：不能为空"} for i in range(5)]

    assert summary(details) == "字段0：不能为空；字段1：不能为空；字段2：不能为空等5处问题"
    assert summary(details[:1]) == "字段0：不能为空"


# --- field names ----------------------------------------------------------------------------------------


def test_a_title_names_the_field_first() -> None:
    assert field_name("name", title="医院名称") == "医院名称"


def test_a_model_specific_entry_comes_before_the_glossary() -> None:
    assert field_name("reason", model="SuspendIn") == "停诊原因"
    assert field_name("reason") == "原因"


def test_the_glossary_comes_before_a_description() -> None:
    assert field_name("patient_id", description="对象 id") == "就诊人"
    assert field_name("q", description="中文名称或拼音首字母") == "搜索词"


@pytest.mark.parametrize(
    ("description", "lead"),
    [
        ("开始日期，默认今天", "开始日期"),
        ("星期：0=周一 … 6=周日", "星期"),
        ("号源数（1-200）", "号源数"),
        ("对象 id", None),
        ("true：在职；false：已离开", None),
        ("原医生不能出诊的原因（可选），会告知患者", None),  # a sentence, not a name
        (None, None),
    ],
)
def test_a_description_gives_a_name_when_it_starts_with_one(description: str | None, lead: str | None) -> None:
    assert description_lead(description) == lead


def test_an_unknown_field_is_a_parameter() -> None:
    assert field_name("zzz") == UNKNOWN_FIELD


# --- every input of the API has a Chinese name ------------------------------------------------------------


@pytest.fixture
def routes(settings: Settings) -> list[APIRoute]:
    return list(api_routes(list(create_app(settings).routes)))


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def body_locs(annotation: Any, prefix: list[Any]) -> Iterator[list[Any]]:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        yield from body_locs(get_args(annotation)[0], prefix)
    elif origin in (typing.Union, types.UnionType):
        for arg in get_args(annotation):
            yield from body_locs(arg, prefix)
    elif origin in (list, tuple, set, frozenset):
        for arg in get_args(annotation):
            yield from body_locs(arg, [*prefix, 0])
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            loc = [*prefix, info.alias or name]
            yield loc
            yield from body_locs(info.annotation, loc)


def input_locs(route: APIRoute) -> Iterator[list[Any]]:
    def walk(dependant: Any) -> Iterator[list[Any]]:
        for source in ("path", "query", "header", "cookie"):
            for param in getattr(dependant, f"{source}_params"):
                yield [source, param.alias]
        bodies = dependant.body_params
        for param in bodies:
            prefix: list[Any] = ["body"] if len(bodies) == 1 else ["body", param.alias]
            if len(bodies) > 1:
                yield prefix
            yield from body_locs(param.field_info.annotation, prefix)
        for sub in dependant.dependencies:
            yield from walk(sub)

    return walk(route.dependant)


def test_every_input_of_every_route_has_a_chinese_name(routes: list[APIRoute]) -> None:
    unnamed = []
    for route in routes:
        for loc in input_locs(route):
            name = field_name_at(loc, route)
            if name == UNKNOWN_FIELD or not CJK.search(name):
                unnamed.append((route.path, loc, name))

    assert unnamed == []


def route_of(routes: list[APIRoute], method: str, path: str) -> APIRoute:
    return next(r for r in routes if r.path == path and method in r.methods)


@pytest.mark.parametrize(
    ("method", "path", "loc", "name"),
    [
        ("POST", "/api/v1/me/patients", ["body", "id_number"], "身份证号"),
        ("PATCH", "/api/v1/me/patients/{patient_id}", ["path", "patient_id"], "就诊人"),
        ("GET", "/api/v1/hospitals", ["query", "page_size"], "每页条数"),
        ("POST", "/api/v1/auth/wechat-login", ["body", "code"], "登录凭证"),
        ("POST", "/api/v1/appointments", ["header", "Idempotency-Key"], "请求标识（Idempotency-Key）"),
        ("POST", "/api/v1/appointments", ["body", "slot_id"], "号源"),
    ],
)
def test_the_name_of_an_input_of_a_route(
    routes: list[APIRoute], method: str, path: str, loc: list[Any], name: str
) -> None:
    assert field_name_at(loc, route_of(routes, method, path)) == name


def test_a_staff_schemas_title_names_its_field(routes: list[APIRoute]) -> None:
    staff_route = next(
        r for r in routes if "POST" in r.methods and any("release_days" in locs for locs in map(tuple, input_locs(r)))
    )

    assert field_name_at(["body", "release_days"], staff_route) == "放号周期"
    assert field_name_at(["body", "name"], staff_route) == "医院名称"


def test_an_item_of_a_list_says_which_one(routes: list[APIRoute]) -> None:
    week_route = next(r for r in routes if any(loc[:2] == ["body", "cells"] for loc in input_locs(r)))

    assert field_name_at(["body", "cells", 2, "capacity"], week_route) == "号源数（第3项）"


def test_without_a_route_the_glossary_names_the_field() -> None:
    assert field_name_at(["query", "page"]) == "页码"
    assert field_name_at(["body"]) == "请求体"
    assert field_name_at(["body", 7]) == "请求体"


def test_the_detail_keeps_loc_and_type_and_says_the_rest_in_chinese() -> None:
    errors = [{"loc": ("query", "page"), "type": "int_parsing", "msg": "Input should be a valid integer", "input": "x"}]

    [detail] = request_error_details(errors)

    assert detail == {"loc": ["query", "page"], "type": "int_parsing", "msg": "页码：须为整数"}
    assert not ENGLISH_WORD.search(detail["msg"])
