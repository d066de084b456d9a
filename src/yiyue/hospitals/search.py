"""Search by Chinese name, full pinyin (全拼), pinyin initials (拼音首字母) or a mix of them.

``周振华`` is found by ``周振``, ``振华``, ``zhouzhenhua``, ``zhou zhen hua``, ``zhenhua``, ``zzh``, ``周zh``
and ``zhou振华``. What a name is searched by is computed when the name is written (``name_columns``):

- ``name_initials``: the initials of the default reading, ``zzh``;
- ``name_pinyin``: the full default reading, ``zhouzhenhua``;
- ``name_pinyin_keys``: every spelling cut at each syllable, each piece after a space, then the same for
  the initials after `` ~``: `` zhouzhenhua zhenhua hua ~zzh ~zh ~h``. ``LIKE '% zhenh%'`` then finds a
  full-pinyin query that starts at a syllable (``zhenh`` does, ``henhua`` does not), ``LIKE '% ~zh%'``
  an initials query anywhere. The spellings are the default reading, then ``ü`` typed as ``u`` (``lv``
  and ``lu`` for 吕) and the other readings of a polyphonic character (曾: ceng, zeng), a few at most.

A query with no Latin letter is matched as Chinese only (``周振华`` does not find its homophone 周震华);
one with Latin letters is also spelled out (``周zh`` -> ``zhouzh`` and ``zzh``) and matched as pinyin.
The helpers above the SQL part are pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pypinyin import Style, lazy_pinyin, pinyin
from sqlalchemy import ColumnElement, case, func, literal, or_
from sqlalchemy.orm import InstrumentedAttribute

MAX_SPELLINGS = 6
"""Spellings of one name kept in its keys (the default reading first)."""

_NOT_KEY = re.compile(r"[^a-z0-9]")
_LATIN = re.compile(r"[A-Za-z]")
_FOREIGN = "\x00"
"""Marks what pypinyin left as it was (letters, digits, punctuation): not a Chinese character."""


def initials(name: str) -> str:
    """``北京协和医院`` -> ``bjxhyy``; letters and digits in the name are kept as they are (lowercased)."""
    return "".join(p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default") if p).lower()


def _clean(text: str) -> str:
    return _NOT_KEY.sub("", text.lower())


def _mark(chars: str) -> str:
    return _FOREIGN + chars


@dataclass(frozen=True)
class _Token:
    readings: tuple[str, ...]
    """Lowercase letters and digits; the default reading first."""
    chinese: bool

    def initial(self, reading: str) -> str:
        """A Chinese syllable's first letter; letters and digits in the name stay whole."""
        return reading[0] if self.chinese else reading


def _tokens(name: str) -> list[_Token]:
    default = lazy_pinyin(name, errors=_mark)
    every = pinyin(name, style=Style.NORMAL, heteronym=True, errors=_mark)
    if len(every) != len(default):  # never seen; the default reading alone then
        every = [[d] for d in default]
    tokens = []
    for first, others in zip(default, every, strict=True):
        chinese = not first.startswith(_FOREIGN)
        readings = [r for r in dict.fromkeys(_clean(r) for r in (first, *others)) if r]
        if readings:
            tokens.append(_Token(tuple(readings), chinese))
    return tokens


def spellings(name: str) -> list[list[str]]:
    """The ways ``name`` may be spelled, syllable by syllable: the default reading, the same with ``ü`` as
    ``u`` (pypinyin writes ``v``), then each other reading of a polyphonic character on its own."""
    tokens = _tokens(name)
    default = [t.readings[0] for t in tokens]
    found = [default]
    u_for_v = [r.replace("v", "u") if t.chinese else r for t, r in zip(tokens, default, strict=True)]
    if u_for_v != default:
        found.append(u_for_v)
    for i, token in enumerate(tokens):
        for other in token.readings[1:]:
            found.append([*default[:i], other, *default[i + 1 :]])
    return found[:MAX_SPELLINGS]


def full_pinyin(name: str) -> str:
    """``周振华`` -> ``zhouzhenhua`` (default reading; letters and digits kept, lowercased)."""
    return "".join(t.readings[0] for t in _tokens(name))


def pinyin_keys(name: str) -> str:
    """What ``name`` is matched by as pinyin: `` zhouzhenhua zhenhua hua ~zzh ~zh ~h`` (see the module)."""
    tokens = _tokens(name)
    full: dict[str, None] = {}
    heads: dict[str, None] = {}
    for spelling in spellings(name):
        letters = [t.initial(r) for t, r in zip(tokens, spelling, strict=True)]
        for i in range(len(spelling)):
            full["".join(spelling[i:])] = None
            heads["".join(letters[i:])] = None
    return "".join(f" {k}" for k in full) + "".join(f" ~{k}" for k in heads)


def name_columns(name: str) -> dict[str, str]:
    """The columns a catalog row derives from its name, to be written with it."""
    return {"name_initials": initials(name), "name_pinyin": full_pinyin(name), "name_pinyin_keys": pinyin_keys(name)}


def name_column_default(column: str) -> Any:
    """A column default computing ``column`` from the row's ``name`` (for inserts that leave it out)."""

    def default(context: Any) -> str:
        return name_columns(str(context.get_current_parameters()["name"]))[column]

    return default


@dataclass(frozen=True)
class Terms:
    """A search query as it is matched."""

    text: str
    """As typed, trimmed: matched against names and specialties."""
    spelled: str
    """Chinese characters spelled out, letters lowercased, spaces and marks dropped: ``周zh`` -> ``zhouzh``;
    blank when the query has no Latin letter (it is then not matched as pinyin)."""
    initials: str
    """Chinese characters by their initial: ``周zh`` -> ``zzh`` (blank like ``spelled``)."""


def terms(query: str) -> Terms:
    text = query.strip()
    if not _LATIN.search(text):
        return Terms(text, "", "")
    spelled = _clean("".join(lazy_pinyin(text, errors="default")))
    heads = _clean("".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default")))
    return Terms(text, spelled, heads)


# --- SQL --------------------------------------------------------------------------------------------

MATCH_NAME = "name"
MATCH_PINYIN = "pinyin"
MATCH_INITIALS = "initials"
MATCH_SPECIALTY = "specialty"
MATCH_DEPARTMENT = "department"

RANK_MATCH = {
    0: MATCH_NAME,  # the whole name
    1: MATCH_NAME,  # the start of the name
    2: MATCH_NAME,  # part of the name
    3: MATCH_PINYIN,  # the start of the name's pinyin
    4: MATCH_PINYIN,  # pinyin from a syllable on, or another reading
    5: MATCH_INITIALS,  # the start of the initials
    6: MATCH_INITIALS,  # part of the initials, or of another reading's
    7: MATCH_SPECIALTY,
    8: MATCH_DEPARTMENT,
}
"""What a rank (best first) says matched."""
WORST_RANK = max(RANK_MATCH)

Ranked = list[tuple[ColumnElement[bool], int]]
"""Ways a row may match, each with its rank (``RANK_MATCH``)."""


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(column: Any, pattern: str) -> ColumnElement[bool]:
    return column.like(pattern, escape="\\")  # type: ignore[no-any-return]


class Searchable:
    """The columns of a table searched by name."""

    def __init__(
        self,
        name: InstrumentedAttribute[str],
        name_initials: InstrumentedAttribute[str],
        name_pinyin: InstrumentedAttribute[str],
        name_pinyin_keys: InstrumentedAttribute[str],
    ) -> None:
        self.name = name
        self.name_initials = name_initials
        self.name_pinyin = name_pinyin
        self.name_pinyin_keys = name_pinyin_keys

    @classmethod
    def of(cls, model: Any) -> Searchable:
        return cls(model.name, model.name_initials, model.name_pinyin, model.name_pinyin_keys)

    def ranked(self, t: Terms) -> Ranked:
        """Each way the name may match ``t``, with its rank."""
        text = _escaped(t.text)
        found: Ranked = [
            (self.name == t.text, 0),
            (_like(self.name, f"{text}%"), 1),
            (_like(self.name, f"%{text}%"), 2),
        ]
        if t.spelled:
            spelled = _escaped(t.spelled)
            found += [(_like(self.name_pinyin, f"{spelled}%"), 3), (_like(self.name_pinyin_keys, f"% {spelled}%"), 4)]
        if t.initials:
            heads = _escaped(t.initials)
            found += [(_like(self.name_initials, f"{heads}%"), 5), (_like(self.name_pinyin_keys, f"% ~{heads}%"), 6)]
        return found

    def matches(self, t: Terms) -> ColumnElement[bool]:
        return any_of(self.ranked(t))


def rank(found: Ranked) -> ColumnElement[int]:
    """The best rank among ``found`` (the first that holds); WORST_RANK + 1 when none does."""
    whens: list[tuple[ColumnElement[bool], Any]] = [(c, literal(r)) for c, r in found]
    return case(*whens, else_=literal(WORST_RANK + 1))


def any_of(found: Ranked) -> ColumnElement[bool]:
    return or_(*(c for c, _ in found))


def contains(column: Any, t: Terms) -> ColumnElement[bool]:
    """``column`` contains the query as typed (for specialties)."""
    return _like(column, f"%{_escaped(t.text)}%")


def ordering(name: Any, id_: Any) -> list[Any]:
    """What orders rows of the same rank: shorter names first, then older rows (a stable order)."""
    return [func.length(name), id_]


def matches(
    query: str, name: InstrumentedAttribute[str], name_initials: InstrumentedAttribute[str]
) -> ColumnElement[bool]:
    """A name containing the query, or pinyin initials containing it (case-insensitive). The staff side's
    search; patients' goes through ``Searchable``."""
    q = query.strip()
    escaped = _escaped(q)
    return or_(
        name.like(f"%{escaped}%", escape="\\"),
        name_initials.like(f"%{escaped.lower()}%", escape="\\"),
    )
