"""会员与积分 (platform administrators): the levels and their privileges with an edit form, an account
looked up by its id or a visit person's ID number with its standing and points ledger, and manual
adjustments with a reason. Every change and every look at an account is audited by ``members.service``,
the same calls the staff API makes."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import RedirectResponse, Response

from yiyue.admin.console import Console, page
from yiyue.admin.forms import parse, values
from yiyue.admin.templating import render
from yiyue.core.deps import CipherDep, ClockDep, SessionDep
from yiyue.core.errors import DomainError
from yiyue.core.params import MAX_ID
from yiyue.members import rules, service
from yiyue.members.models import MemberLevel
from yiyue.members.schemas import AdjustmentIn, LevelIn

router = APIRouter()

MembersPage = Annotated[Console, Depends(page("members"))]
HOME = "/admin/members"
LEDGER_PAGE = 20
AccountPath = Annotated[int, Path(title="账号", ge=1, le=MAX_ID)]
CodePath = Annotated[str, Path(title="等级代码", max_length=20, pattern=r"^[a-z_]+$")]
CHECKS = ("member_share", "can_cancel_late")
"""Checkboxes: unticked, the browser sends nothing."""


def _level_rows(levels: list[MemberLevel]) -> list[dict[str, Any]]:
    return [
        {
            "level": lv,
            "lines": rules.describe(rules.privileges_of(lv)),
            "discount": rules.discount_name(lv.discount_percent),
        }
        for lv in levels
    ]


@router.get("/members")
async def members_home(
    console: MembersPage,
    session: SessionDep,
    cipher: CipherDep,
    q: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The levels, and the look-up: an account id goes straight to the account, an ID number to the
    account holding that visit person (a choice when several families hold them)."""
    q = q.strip()
    found: list[int] = []
    lookup_error = ""
    if q:
        if q.isdigit() and len(q) <= 12:
            return RedirectResponse(f"{HOME}/accounts/{int(q)}", status_code=303)
        if len(q) in (15, 18):
            found = await service.accounts_holding(session, staff=console.staff, id_number=q, cipher=cipher)
            if len(found) == 1:
                return RedirectResponse(f"{HOME}/accounts/{found[0]}", status_code=303)
            if not found:
                lookup_error = "没有找到持有该身份证号就诊人的账号"
        else:
            lookup_error = "请输入账号 ID，或就诊人的18位身份证号"
    return render(
        console,
        "members/index.html",
        rows=_level_rows(await service.levels(session)),
        q=q,
        found=found,
        lookup_error=lookup_error,
        earning_rules=rules.earning_rules(),
        expiry_rule=rules.EXPIRY_RULE,
        rounding_rule=rules.ROUNDING_RULE,
    )


# --- levels -------------------------------------------------------------------------------------------


def _level_form(
    console: Console, level: MemberLevel, shown: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    return render(console, "members/level_form.html", status=status, level=level, values=shown, errors=errors)


@router.get("/members/levels/{code}")
async def edit_level(code: CodePath, console: MembersPage, session: SessionDep) -> Response:
    level = await service.get_level(session, code)
    shown = {name: getattr(level, name) for name in LevelIn.model_fields}
    return _level_form(console, level, shown, {})


@router.post("/members/levels/{code}")
async def save_level(code: CodePath, console: MembersPage, session: SessionDep, clock: ClockDep) -> Response:
    level = await service.get_level(session, code)
    submitted = values(await console.request.form())
    for name in CHECKS:
        submitted[name] = submitted.get(name) == "true"
    data, errors = parse(LevelIn, submitted)
    if data is not None:
        try:
            saved = await service.update_level(
                session,
                staff=console.staff,
                change=rules.LevelChange(code=code, **data.model_dump()),
                now=clock.now(),
            )
        except service.InvalidMemberLevel as refused:
            errors = dict(refused.detail or {"__all__": refused.text})
        except DomainError as refused:
            errors = {"__all__": refused.text}
        else:
            return RedirectResponse(f"{HOME}?{urlencode({'ok': f'已保存「{saved.name}」'})}", status_code=303)
    return _level_form(console, level, submitted, errors, status=422)


# --- an account ---------------------------------------------------------------------------------------


async def _account_page(
    console: Console,
    session: SessionDep,
    clock: ClockDep,
    account_id: int,
    *,
    page_number: int = 1,
    shown: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    found = await service.member_file(
        session,
        staff=console.staff,
        account_id=account_id,
        offset=(page_number - 1) * LEDGER_PAGE,
        limit=LEDGER_PAGE,
        now=clock.now(),
    )
    return render(
        console,
        "members/account.html",
        status=status,
        file=found,
        held=found.standing,
        lines=rules.describe(found.standing.privileges),
        labels=rules.KIND_LABELS,
        page_number=page_number,
        page_size=LEDGER_PAGE,
        query={"page": str(page_number)},
        values=shown or {},
        errors=errors or {},
    )


@router.get("/members/accounts/{account_id}")
async def account(
    account_id: AccountPath,
    console: MembersPage,
    session: SessionDep,
    clock: ClockDep,
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    return await _account_page(console, session, clock, account_id, page_number=page_number)


@router.post("/members/accounts/{account_id}/adjust")
async def adjust(account_id: AccountPath, console: MembersPage, session: SessionDep, clock: ClockDep) -> Response:
    submitted = values(await console.request.form())
    data, errors = parse(AdjustmentIn, submitted)
    if data is not None:
        try:
            entry = await service.adjust(
                session,
                staff=console.staff,
                account_id=account_id,
                delta=data.delta,
                reason=data.reason,
                now=clock.now(),
            )
        except service.InvalidAdjustment as refused:
            errors = dict(refused.detail or {"__all__": refused.text})
        except service.InsufficientPoints as refused:
            errors = {"delta": refused.text}
        else:
            done = f"已{'增加' if entry.delta > 0 else '扣减'}{abs(entry.delta)}积分，当前余额{entry.balance_after}"
            return RedirectResponse(f"{HOME}/accounts/{account_id}?{urlencode({'ok': done})}", status_code=303)
    return await _account_page(console, session, clock, account_id, shown=submitted, errors=errors, status=422)
