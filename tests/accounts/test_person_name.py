"""The rule for a visit person's (就诊人's) name, without the API (mirrored in miniprogram/utils/validate.js)."""

from __future__ import annotations

import pytest
from pydantic_core import PydanticCustomError

from yiyue.accounts.schemas import PERSON_NAME_ERROR, person_name


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("张三", "张三"),
        ("欧阳娜娜", "欧阳娜娜"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽.买买提", "阿依古丽·买买提"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("阿依古丽・买买提", "阿依古丽·买买提"),  # katakana middle dot, as some keyboards type it
        ("阿依古丽 · 买买提", "阿依古丽·买买提"),  # spaces around the dot dropped
        ("John Smith", "John Smith"),
        ("John  Smith", "John Smith"),  # a run of spaces is one
        (" 张三 ", "张三"),
        ("Ｊｏｈｎ Ｓｍｉｔｈ", "John Smith"),  # full-width letters
        ("Zoë Li", "Zoë Li"),
        ("𠇔三", "𠇔三"),  # a rare character outside the basic block
        ("Li", "Li"),
        ("张" * 30, "张" * 30),
    ],
)
def test_a_valid_name_is_stored_normalised(typed: str, stored: str) -> None:
    assert person_name(typed) == stored


@pytest.mark.parametrize(
    "name",
    [
        "a1",
        "张",
        "张3",
        "张 三",  # no space between Chinese characters: the typo is shown, not silently fixed
        "张 John",
        "张" * 31,
        "张三😀",
        "张三!",
        "John-Smith",
        "O'Neil",
        "·张三",
        "张三·",
        "张··三",
        "",
        "  ",
    ],
)
def test_an_invalid_name_is_refused_with_one_chinese_message(name: str) -> None:
    with pytest.raises(PydanticCustomError) as caught:
        person_name(name)

    assert (caught.value.type, caught.value.message()) == ("person_name", PERSON_NAME_ERROR)
