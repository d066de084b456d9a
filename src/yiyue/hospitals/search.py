"""Search by Chinese name or pinyin initials (拼音首字母), e.g. 协和 / xh."""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin
from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import InstrumentedAttribute


def initials(name: str) -> str:
    """``北京协和医院`` -> ``bjxhyy``; letters and digits in the name are kept as they are (lowercased)."""
    return "".join(p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default") if p).lower()


def matches(
    query: str, name: InstrumentedAttribute[str], name_initials: InstrumentedAttribute[str]
) -> ColumnElement[bool]:
    """A name containing the query, or pinyin initials containing it (case-insensitive)."""
    q = query.strip()
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(
        name.like(f"%{escaped}%", escape="\\"),
        name_initials.like(f"%{escaped.lower()}%", escape="\\"),
    )
