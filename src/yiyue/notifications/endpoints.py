from __future__ import annotations

from fastapi import APIRouter

from yiyue.core.deps import ClockDep, CurrentAccount, SessionDep
from yiyue.core.errors import AUTH_ERRORS, INPUT_ERRORS, responses
from yiyue.core.pagination import PageDep
from yiyue.core.params import IdPath
from yiyue.notifications import service
from yiyue.notifications.schemas import NotificationOut, NotificationPage, ReadAllOut

router = APIRouter(prefix="/api/v1/me/notifications", tags=["消息"])


@router.get("", summary="我的消息", responses=responses(*AUTH_ERRORS, *INPUT_ERRORS))
async def my_notifications(session: SessionDep, account: CurrentAccount, page: PageDep) -> NotificationPage:
    items, total, unread = await service.list_for(session, account.subject_id, page)
    return NotificationPage(
        items=[NotificationOut.model_validate(n) for n in items],
        total=total,
        unread=unread,
        page=page.page,
        page_size=page.page_size,
    )


@router.post("/read-all", summary="全部标为已读", responses=responses(*AUTH_ERRORS))
async def read_all(session: SessionDep, account: CurrentAccount, clock: ClockDep) -> ReadAllOut:
    return ReadAllOut(updated=await service.mark_all_read(session, account.subject_id, clock.now()))


@router.post(
    "/{notification_id}/read",
    summary="标为已读",
    responses=responses(*AUTH_ERRORS, *INPUT_ERRORS, service.NotificationNotFound),
)
async def read_one(
    notification_id: IdPath, session: SessionDep, account: CurrentAccount, clock: ClockDep
) -> NotificationOut:
    notification = await service.mark_read(session, account.subject_id, notification_id, clock.now())
    return NotificationOut.model_validate(notification)
