"""Our own JWTs: issue, verify against the injected clock, and the verification cache."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from yiyue.core import security
from yiyue.core.errors import InvalidToken, TokenExpired
from yiyue.core.security import Principal, TokenVerifier, issue_pair, verify

SECRET = "unit-test-secret-key-0123456789abcdef"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ACCESS_TTL = timedelta(hours=2)
REFRESH_TTL = timedelta(days=30)


def pair(subject_id: int = 42, role: str = "patient", now: datetime = NOW) -> security.TokenPair:
    return issue_pair(
        secret=SECRET, subject_id=subject_id, role=role, now=now, access_ttl=ACCESS_TTL, refresh_ttl=REFRESH_TTL
    )


def claims(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})  # type: ignore[no-any-return]


def reencode_payload(token: str, **changes: object) -> str:
    """The same header and signature around an edited payload, as a forger would try."""
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(changes)
    edited = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{header}.{edited}.{signature}"


# --- issue and verify -----------------------------------------------------------------------------


@pytest.mark.parametrize(("subject_id", "role"), [(42, "patient"), (1, "admin"), (9_007_199_254_740_991, "patient")])
def test_an_access_token_verifies_to_its_subject_and_role(subject_id: int, role: str) -> None:
    tokens = pair(subject_id, role)

    assert verify(tokens.access_token, secret=SECRET, kind="access", now=NOW) == Principal(subject_id, role)


def test_a_refresh_token_verifies_to_its_subject_and_role() -> None:
    assert verify(pair().refresh_token, secret=SECRET, kind="refresh", now=NOW) == Principal(42, "patient")


def test_the_pair_reports_its_lifetimes_in_seconds() -> None:
    tokens = pair()

    assert (tokens.expires_in, tokens.refresh_expires_in) == (7200, 30 * 86400)


def test_tokens_carry_issuer_kind_and_times_from_the_given_clock() -> None:
    tokens = pair()

    access, refresh = claims(tokens.access_token), claims(tokens.refresh_token)
    assert (access["iss"], access["typ"], access["sub"]) == ("yiyue", "access", "42")
    assert refresh["typ"] == "refresh"
    assert access["iat"] == int(NOW.timestamp())
    assert access["exp"] == int((NOW + ACCESS_TTL).timestamp())
    assert refresh["exp"] == int((NOW + REFRESH_TTL).timestamp())


def test_two_pairs_issued_at_the_same_instant_are_different_tokens() -> None:
    assert pair().access_token != pair().access_token


def test_an_access_token_is_valid_until_the_second_before_it_expires() -> None:
    token = pair().access_token

    assert verify(token, secret=SECRET, kind="access", now=NOW + ACCESS_TTL - timedelta(seconds=1)).subject_id == 42


@pytest.mark.parametrize("after", [timedelta(0), timedelta(microseconds=1), timedelta(seconds=1), timedelta(days=1)])
def test_an_access_token_is_expired_from_its_exp_on(after: timedelta) -> None:
    token = pair().access_token

    with pytest.raises(TokenExpired):
        verify(token, secret=SECRET, kind="access", now=NOW + ACCESS_TTL + after)


def test_a_refresh_token_expires_at_its_own_exp() -> None:
    token = pair().refresh_token

    assert verify(token, secret=SECRET, kind="refresh", now=NOW + ACCESS_TTL + timedelta(hours=1)).subject_id == 42
    with pytest.raises(TokenExpired):
        verify(token, secret=SECRET, kind="refresh", now=NOW + REFRESH_TTL)


def test_expiry_is_judged_by_the_given_clock_not_the_wall_clock() -> None:
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)
    token = pair(now=long_ago).access_token

    assert verify(token, secret=SECRET, kind="access", now=long_ago + timedelta(minutes=1)).subject_id == 42


def test_a_token_issued_in_the_wall_clocks_future_is_accepted_when_the_app_clock_says_so() -> None:
    future = datetime.now(UTC) + timedelta(days=365)
    token = pair(now=future).access_token

    assert verify(token, secret=SECRET, kind="access", now=future).subject_id == 42


def test_a_refresh_token_is_refused_as_an_access_token() -> None:
    with pytest.raises(InvalidToken):
        verify(pair().refresh_token, secret=SECRET, kind="access", now=NOW)


def test_an_access_token_is_refused_as_a_refresh_token() -> None:
    with pytest.raises(InvalidToken):
        verify(pair().access_token, secret=SECRET, kind="refresh", now=NOW)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(InvalidToken):
        verify(pair().access_token, secret=SECRET + "x", kind="access", now=NOW)


@pytest.mark.parametrize("garbage", ["", "garbage", "a.b.c", "Bearer x", "eyJhbGciOiJIUzI1NiJ9..", "ä.ö.ü"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        verify(garbage, secret=SECRET, kind="access", now=NOW)


@pytest.mark.parametrize(
    "change",
    [{"sub": "1"}, {"role": "admin"}, {"typ": "refresh"}, {"exp": 4_102_444_800}],
    ids=["subject", "role", "kind", "expiry"],
)
def test_a_token_with_an_edited_payload_is_refused(change: dict[str, object]) -> None:
    forged = reencode_payload(pair().access_token, **change)

    with pytest.raises(InvalidToken):
        verify(forged, secret=SECRET, kind=str(change.get("typ", "access")), now=NOW)  # type: ignore[arg-type]


def test_an_unsigned_token_is_refused() -> None:
    unsigned = jwt.encode(claims(pair().access_token), key=None, algorithm="none")

    with pytest.raises(InvalidToken):
        verify(unsigned, secret=SECRET, kind="access", now=NOW)


@pytest.mark.parametrize(
    "claim_set",
    [
        {"iss": "someone-else", "sub": "42", "role": "patient", "typ": "access"},
        {"iss": "yiyue", "sub": "42", "typ": "access"},
        {"iss": "yiyue", "sub": "abc", "role": "patient", "typ": "access"},
        {"iss": "yiyue", "role": "patient", "typ": "access"},
        {"iss": "yiyue", "sub": "42", "role": "patient"},
    ],
    ids=["foreign-issuer", "no-role", "non-numeric-subject", "no-subject", "no-kind"],
)
def test_a_correctly_signed_token_with_wrong_claims_is_refused(claim_set: dict[str, object]) -> None:
    times = {"iat": int(NOW.timestamp()), "exp": int((NOW + ACCESS_TTL).timestamp())}
    token = jwt.encode({**claim_set, **times}, SECRET, algorithm="HS256")

    with pytest.raises(InvalidToken):
        verify(token, secret=SECRET, kind="access", now=NOW)


# --- the verification cache -----------------------------------------------------------------------


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each token whose signature the module actually checks."""
    seen: list[str] = []
    real = security._decode

    def counting(token: str, **kwargs: object) -> object:
        seen.append(token)
        return real(token, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(security, "_decode", counting)
    return seen


def test_the_verifier_returns_the_same_principal_as_verify() -> None:
    token = pair().access_token

    assert TokenVerifier(SECRET).verify(token, kind="access", now=NOW) == verify(
        token, secret=SECRET, kind="access", now=NOW
    )


def test_the_verifier_checks_a_token_once_and_then_remembers_it(decodes: list[str]) -> None:
    verifier = TokenVerifier(SECRET)
    token = pair().access_token

    first = verifier.verify(token, kind="access", now=NOW)
    second = verifier.verify(token, kind="access", now=NOW + timedelta(minutes=5))

    assert first == second == Principal(42, "patient")
    assert second is first
    assert decodes == [token]


def test_a_remembered_token_still_expires_on_the_clock(decodes: list[str]) -> None:
    verifier = TokenVerifier(SECRET)
    token = pair().access_token
    verifier.verify(token, kind="access", now=NOW)

    with pytest.raises(TokenExpired):
        verifier.verify(token, kind="access", now=NOW + ACCESS_TTL)
    with pytest.raises(TokenExpired):
        verifier.verify(token, kind="access", now=NOW + ACCESS_TTL + timedelta(hours=1))
    assert decodes == [token]


def test_a_remembered_access_token_is_still_refused_as_a_refresh_token() -> None:
    verifier = TokenVerifier(SECRET)
    token = pair().access_token
    verifier.verify(token, kind="access", now=NOW)

    with pytest.raises(InvalidToken):
        verifier.verify(token, kind="refresh", now=NOW)


def test_a_refused_token_is_refused_again_not_remembered_as_good(decodes: list[str]) -> None:
    verifier = TokenVerifier(SECRET)
    token = pair().access_token + "x"

    for _ in range(2):
        with pytest.raises(InvalidToken):
            verifier.verify(token, kind="access", now=NOW)
    assert decodes == [token, token]


def test_the_verifier_refuses_a_token_signed_with_another_secret() -> None:
    with pytest.raises(InvalidToken):
        TokenVerifier(SECRET + "x").verify(pair().access_token, kind="access", now=NOW)


def test_the_verifier_forgets_old_tokens_rather_than_grow_past_its_capacity(decodes: list[str]) -> None:
    verifier = TokenVerifier(SECRET, capacity=2)
    tokens = [pair(subject_id=n).access_token for n in (1, 2, 3)]
    for token in tokens:
        verifier.verify(token, kind="access", now=NOW)
    assert decodes == tokens

    verifier.verify(tokens[2], kind="access", now=NOW)  # the newest is remembered
    assert decodes == tokens
    assert verifier.verify(tokens[0], kind="access", now=NOW) == Principal(1, "patient")  # the oldest is checked again
    assert decodes == [*tokens, tokens[0]]


@pytest.mark.parametrize("capacity", [1, 3, 10])
def test_the_verifier_never_remembers_more_tokens_than_its_capacity(capacity: int) -> None:
    verifier = TokenVerifier(SECRET, capacity=capacity)

    for n in range(3 * capacity + 1):
        verifier.verify(pair(subject_id=n + 1).access_token, kind="access", now=NOW)
        assert len(verifier._seen) <= capacity
