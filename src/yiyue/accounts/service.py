"""Patient accounts (WeChat login, tokens) and visit persons (就诊人)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts import realname, tokens
from yiyue.accounts.idcard import is_mobile, normalize, parse_id_number
from yiyue.accounts.models import Account, Relationship, VisitPerson
from yiyue.accounts.schemas import VisitPersonIn, VisitPersonPatch
from yiyue.core.clock import local_today
from yiyue.core.config import Settings
from yiyue.core.crypto import FieldCipher, mask_id_number, mask_phone
from yiyue.core.db import begin_write
from yiyue.core.errors import Conflict, InvalidInput, NotFound
from yiyue.core.security import RevokedFamilies, TokenPair, verify
from yiyue.wechat.client import WeChatClient

ID_NUMBER = "visit_persons.id_number"
PHONE = "visit_persons.phone"


class AccountNotFound(NotFound):
    status = 401
    code = "ACCOUNT_NOT_FOUND"
    message = "账号不存在，请重新登录"


class VisitPersonNotFound(NotFound):
    code = "VISIT_PERSON_NOT_FOUND"
    message = "就诊人不存在"


class InvalidIdNumber(InvalidInput):
    code = "INVALID_ID_NUMBER"
    message = "身份证号码无效"


class InvalidPhone(InvalidInput):
    code = "INVALID_PHONE"
    message = "手机号码无效，请输入11位大陆手机号"


class VisitPersonExists(Conflict):
    """This account already has a visit person with this ID number. Another account having one is no
    refusal (families share relatives), and nothing here ever says whether another account has one."""

    code = "VISIT_PERSON_EXISTS"
    message = "您已添加过该就诊人"


class TooManyVisitPersons(Conflict):
    code = "TOO_MANY_VISIT_PERSONS"
    message = "就诊人数量已达上限"


class SelfAlreadyExists(Conflict):
    code = "SELF_ALREADY_EXISTS"
    message = "已添加过“本人”就诊人"


@dataclass(frozen=True)
class Login:
    account: Account
    is_new: bool
    tokens: TokenPair


async def login_with_wechat(
    session: AsyncSession, *, wechat: WeChatClient, code: str, settings: Settings, now: datetime
) -> Login:
    """Exchanges a wx.login code for our tokens; the first login of an openid creates its account."""
    identity = await wechat.code2session(code)
    await begin_write(session)
    account = await session.scalar(select(Account).where(Account.openid == identity.openid))
    is_new = account is None
    if account is None:
        account = Account(openid=identity.openid, unionid=identity.unionid, created_at=now, last_login_at=now)
        try:
            async with session.begin_nested():
                session.add(account)
        except IntegrityError:  # the same user logging in twice at once: the other request created it
            account = await session.scalar(select(Account).where(Account.openid == identity.openid))
            is_new = False
            assert account is not None
    account.last_login_at = now
    if identity.unionid and not account.unionid:
        account.unionid = identity.unionid
    await session.flush()
    pair = await tokens.start(
        session,
        subject_kind=tokens.PATIENT,
        subject_id=account.id,
        role="patient",
        secret=settings.secret_key,
        now=now,
        access_ttl=timedelta(minutes=settings.access_token_minutes),
        refresh_ttl=timedelta(days=settings.refresh_token_days),
    )
    return Login(account=account, is_new=is_new, tokens=pair)


async def refresh(
    session: AsyncSession, *, refresh_token: str, settings: Settings, now: datetime, revocations: RevokedFamilies
) -> Login:
    """Rotates the refresh token (``accounts.tokens.rotate``): a new pair in the same family."""
    principal = verify(refresh_token, secret=settings.secret_key, kind="refresh", now=now)
    account = await session.get(Account, principal.subject_id)
    if account is None or principal.role != "patient":
        raise AccountNotFound()
    pair = await tokens.rotate(
        session,
        principal=principal,
        subject_kind=tokens.PATIENT,
        secret=settings.secret_key,
        now=now,
        access_ttl=timedelta(minutes=settings.access_token_minutes),
        refresh_ttl=timedelta(days=settings.refresh_token_days),
        revocations=revocations,
        reuse_grace=timedelta(seconds=settings.refresh_reuse_grace_seconds),
    )
    return Login(account=account, is_new=False, tokens=pair)


async def lock_account(session: AsyncSession, account_id: int) -> Account:
    """The caller's account row, locked: one account's bookings are decided one at a time.

    ``FOR NO KEY UPDATE`` on PostgreSQL: it serializes these callers but not inserts of rows that merely
    reference the account (their foreign-key check takes a key-share lock).
    """
    account = await session.scalar(select(Account).where(Account.id == account_id).with_for_update(key_share=True))
    if account is None:
        raise AccountNotFound()
    return account


async def list_visit_persons(session: AsyncSession, *, account_id: int) -> list[VisitPerson]:
    return list(
        await session.scalars(
            select(VisitPerson)
            .where(VisitPerson.account_id == account_id, VisitPerson.deleted_at.is_(None))
            .order_by(VisitPerson.id)
        )
    )


async def get_visit_person(session: AsyncSession, *, account_id: int, visit_person_id: int) -> VisitPerson:
    """A visit person of this account; another account's is reported as not found, never shown."""
    person = await session.get(VisitPerson, visit_person_id)
    if person is None or person.account_id != account_id or person.deleted_at is not None:
        raise VisitPersonNotFound()
    return person


@dataclass(frozen=True)
class AddedVisitPerson:
    person: VisitPerson
    realname: realname.RealNameResult
    """The real-name check's outcome (the person is saved whatever it is)."""


async def add_visit_person(
    session: AsyncSession,
    *,
    account_id: int,
    data: VisitPersonIn,
    cipher: FieldCipher,
    settings: Settings,
    realname_provider: realname.RealNameProvider,
    now: datetime,
) -> AddedVisitPerson:
    """Adds a 就诊人: a valid ID number this account does not have yet (other accounts may: families), a
    mainland mobile, at most N per account. Its real name is checked (``accounts.realname``: a kept answer,
    else the provider) before the write begins, so the provider's call never holds the SQLite writer; a
    person who fails the check, or whom the provider could not check, is saved all the same, as 认证失败
    or 未认证, and cannot be booked for until verified."""
    try:
        id_number = parse_id_number(data.id_number, today=local_today(now))
    except ValueError as exc:
        raise InvalidIdNumber(f"身份证号码无效：{exc}") from None
    phone = _checked_phone(data.phone)
    index = cipher.blind_index(id_number.value, context=ID_NUMBER)
    # Refusals first, unlocked (a paid check for a person who cannot be added is wasted); again below, locked.
    _check_can_add(await list_visit_persons(session, account_id=account_id), data, index, settings)
    checked = await realname.check(
        session, provider=realname_provider, cipher=cipher, id_number=id_number.value, name=data.name, now=now
    )
    await begin_write(session)
    await lock_account(session, account_id)
    _check_can_add(await list_visit_persons(session, account_id=account_id), data, index, settings)
    await realname.remember(session, checked)
    person = VisitPerson(
        account_id=account_id,
        name=data.name,
        relationship=data.relationship,
        id_number_encrypted=cipher.encrypt(id_number.value, context=ID_NUMBER),
        id_number_index=index,
        id_number_masked=mask_id_number(id_number.value),
        phone_encrypted=cipher.encrypt(phone, context=PHONE),
        phone_masked=mask_phone(phone),
        birth_date=id_number.birth_date,
        sex=id_number.sex,
        created_at=now,
        updated_at=now,
    )
    checked.apply(person)
    try:
        async with session.begin_nested():
            session.add(person)
    except IntegrityError:
        # The unique index on (account_id, id_number_index) of the persons not removed: this account
        # added the same person at the same instant. Anything else is not ours to explain away.
        if await _account_has_id_number(session, account_id, index):
            raise VisitPersonExists() from None
        raise
    return AddedVisitPerson(person, checked)


def require_verified(person: VisitPerson) -> None:
    """Booking, the waitlist and the release draw take only a person whose real name was verified
    (``PERSON_NOT_VERIFIED``). Walk-ins are verified at the window (the clerk reads the ID card)."""
    realname.require_verified(person)


def _check_can_add(existing: list[VisitPerson], data: VisitPersonIn, index: str, settings: Settings) -> None:
    if len(existing) >= settings.max_visit_persons:
        raise TooManyVisitPersons(f"每个账号最多添加{settings.max_visit_persons}位就诊人")
    if data.relationship == Relationship.SELF and any(p.relationship == Relationship.SELF for p in existing):
        raise SelfAlreadyExists()
    if any(p.id_number_index == index for p in existing):
        raise VisitPersonExists()


async def verify_visit_person(
    session: AsyncSession,
    *,
    account_id: int,
    visit_person_id: int,
    cipher: FieldCipher,
    realname_provider: realname.RealNameProvider,
    now: datetime,
) -> AddedVisitPerson:
    """Checks a visit person's real name again (after a rename, a failure, or a provider that could not
    answer), the provider called before the write begins. A verified person stays so without a query; a
    provider still unable to answer is ``REALNAME_UNAVAILABLE`` and the person stays 未认证."""
    person = await get_visit_person(session, account_id=account_id, visit_person_id=visit_person_id)
    if person.realname_status == realname.RealNameStatus.VERIFIED:
        return AddedVisitPerson(person, realname.RealNameResult.of(person))
    name = person.name
    id_number = cipher.decrypt(person.id_number_encrypted, context=ID_NUMBER)
    checked = await realname.check(
        session, provider=realname_provider, cipher=cipher, id_number=id_number, name=name, now=now
    )
    if checked.status == realname.RealNameStatus.UNVERIFIED:
        raise realname.RealNameUnavailable()
    await begin_write(session)
    await realname.remember(session, checked)
    # Locked: a rename committing between this read and the write below would be marked verified.
    await session.refresh(person, with_for_update=True)
    if person.deleted_at is not None:
        raise VisitPersonNotFound()
    if person.name != name:  # renamed meanwhile: the new name is still to be checked
        return AddedVisitPerson(person, realname.RealNameResult.of(person))
    checked.apply(person)
    person.updated_at = now
    await session.flush()
    return AddedVisitPerson(person, checked)


async def update_visit_person(
    session: AsyncSession,
    *,
    account_id: int,
    visit_person_id: int,
    patch: VisitPersonPatch,
    cipher: FieldCipher,
    now: datetime,
) -> VisitPerson:
    """Name, phone and relationship can change; the ID number cannot (remove and add again instead)."""
    phone = _checked_phone(patch.phone) if patch.phone is not None else None
    await begin_write(session)
    person = await get_visit_person(session, account_id=account_id, visit_person_id=visit_person_id)
    await session.refresh(person, with_for_update=True)  # in turn with a real-name check writing its answer
    if patch.relationship == Relationship.SELF and person.relationship != Relationship.SELF:
        others = await list_visit_persons(session, account_id=account_id)
        if any(p.relationship == Relationship.SELF for p in others):
            raise SelfAlreadyExists()
    if patch.name is not None:
        if patch.name != person.name:  # a verified real name is of the old name: check the new one
            person.realname_status = realname.RealNameStatus.UNVERIFIED
            person.realname_checked_at = None
        person.name = patch.name
    if patch.relationship is not None:
        person.relationship = patch.relationship
    if phone is not None:
        person.phone_encrypted = cipher.encrypt(phone, context=PHONE)
        person.phone_masked = mask_phone(phone)
    person.updated_at = now
    await session.flush()
    return person


async def remove_visit_person(session: AsyncSession, *, person: VisitPerson, now: datetime) -> None:
    """Soft removal: past appointments keep pointing at the person, and the account may add the ID number again."""
    person.deleted_at = now
    await session.flush()


async def _account_has_id_number(session: AsyncSession, account_id: int, index: str) -> bool:
    count = await session.scalar(
        select(func.count())
        .select_from(VisitPerson)
        .where(
            VisitPerson.account_id == account_id,
            VisitPerson.id_number_index == index,
            VisitPerson.deleted_at.is_(None),
        )
    )
    return bool(count)


def _checked_phone(raw: str) -> str:
    phone = normalize(raw)
    if not is_mobile(phone):
        raise InvalidPhone()
    return phone
