"""Resident ID numbers (GB 11643-1999), mobile numbers and ages: pure rules, no database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import id_number
from yiyue.accounts.idcard import (
    PROVINCES,
    InvalidIdNumberReason,
    age_on,
    check_digit,
    is_mobile,
    parse_id_number,
)

TODAY = date(2026, 3, 2)
GB_EXAMPLE = "11010519491231002X"  # the example printed in GB 11643-1999


def full_width(text: str) -> str:
    """ASCII digits and letters as their full-width forms (０-９, Ｘ), as some Chinese IMEs type them."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def reason_of(raw: str, today: date = TODAY) -> str:
    with pytest.raises(ValueError) as caught:
        parse_id_number(raw, today=today)
    return str(caught.value)


# --- valid numbers ---------------------------------------------------------------------------------


def test_the_gb_example_number_is_valid() -> None:
    parsed = parse_id_number(GB_EXAMPLE, today=TODAY)

    assert parsed.value == GB_EXAMPLE
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "女"


def test_a_lowercase_check_x_is_accepted_and_upper_cased() -> None:
    assert parse_id_number(GB_EXAMPLE.lower(), today=TODAY).value == GB_EXAMPLE


@pytest.mark.parametrize(
    "padding", [" ", "  ", "\t", "\n", "\u3000"], ids=["space", "spaces", "tab", "newline", "ideo"]
)
def test_surrounding_whitespace_is_ignored(padding: str) -> None:
    assert parse_id_number(f"{padding}{GB_EXAMPLE}{padding}", today=TODAY).value == GB_EXAMPLE


def test_full_width_digits_and_x_are_normalised_to_ascii() -> None:
    typed = full_width(GB_EXAMPLE)
    assert typed != GB_EXAMPLE

    assert parse_id_number(typed, today=TODAY).value == GB_EXAMPLE


def test_full_width_lowercase_x_is_normalised_and_upper_cased() -> None:
    assert parse_id_number(full_width(GB_EXAMPLE.lower()), today=TODAY).value == GB_EXAMPLE


def test_a_number_whose_check_char_is_a_digit_is_valid() -> None:
    parsed = parse_id_number("110105199001010037", today=TODAY)

    assert (parsed.value, parsed.birth_date, parsed.sex) == ("110105199001010037", date(1990, 1, 1), "男")


@pytest.mark.parametrize(
    "birth",
    [date(1900, 1, 1), date(2000, 2, 29), date(1990, 12, 31), TODAY],
    ids=["first-day-of-1900", "leap-day", "new-years-eve", "born-today"],
)
def test_the_birth_date_is_read_from_digits_7_to_14(birth: date) -> None:
    assert parse_id_number(id_number(birth, serial=123), today=TODAY).birth_date == birth


@pytest.mark.parametrize(
    ("serial", "sex"),
    [(1, "男"), (3, "男"), (19, "男"), (999, "男"), (0, "女"), (2, "女"), (10, "女"), (998, "女")],
)
def test_an_odd_17th_digit_means_male_and_an_even_one_female(serial: int, sex: str) -> None:
    assert parse_id_number(id_number(serial=serial), today=TODAY).sex == sex


# --- invalid numbers ------------------------------------------------------------------------------


def test_a_wrong_check_digit_is_refused() -> None:
    wrong = GB_EXAMPLE[:17] + "3"

    assert reason_of(wrong) == InvalidIdNumberReason.CHECKSUM


@pytest.mark.parametrize("last", list("0123456789"))
def test_every_check_char_but_the_right_one_is_refused(last: str) -> None:
    assert reason_of(GB_EXAMPLE[:17] + last) == InvalidIdNumberReason.CHECKSUM


@pytest.mark.parametrize(
    "birth_digits",
    ["19900230", "19901301", "19900001", "19900100", "19900431", "19000229", "00000101"],
    ids=["feb-30", "month-13", "month-0", "day-0", "apr-31", "1900-not-leap", "year-0"],
)
def test_an_impossible_birth_date_is_refused(birth_digits: str) -> None:
    first17 = f"110105{birth_digits}123"

    assert reason_of(first17 + check_digit(first17)) == InvalidIdNumberReason.BIRTH_DATE


def test_a_birth_date_after_today_is_refused() -> None:
    assert reason_of(id_number(TODAY + timedelta(days=1))) == InvalidIdNumberReason.BIRTH_DATE


def test_whether_a_birth_date_is_in_the_future_depends_on_the_today_given() -> None:
    number = id_number(date(2026, 3, 3))

    assert reason_of(number, today=date(2026, 3, 2)) == InvalidIdNumberReason.BIRTH_DATE
    assert parse_id_number(number, today=date(2026, 3, 3)).birth_date == date(2026, 3, 3)


def test_a_birth_date_before_1900_is_refused() -> None:
    assert reason_of(id_number(date(1899, 12, 31))) == InvalidIdNumberReason.BIRTH_DATE


@pytest.mark.parametrize("length", [17, 19, 15, 0], ids=["17", "19", "old-15", "empty"])
def test_a_number_that_is_not_18_characters_long_is_refused(length: int) -> None:
    raw = (GB_EXAMPLE + "0")[:length]

    assert reason_of(raw) == InvalidIdNumberReason.LENGTH


@pytest.mark.parametrize(
    "raw",
    ["1101051949123100AX", "11010X19491231002X", "11010519491231002Y", "1101051949 231002X", "11010519491231-02X"],
    ids=["letter-before-check", "x-in-the-middle", "y-as-check", "inner-space", "dash"],
)
def test_anything_but_digits_and_a_final_x_is_refused(raw: str) -> None:
    assert len(raw) == 18

    assert reason_of(raw) == InvalidIdNumberReason.CHARACTERS


@pytest.mark.parametrize("region", ["000000", "100000", "190000", "240000", "390000", "660000", "720000", "990000"])
def test_a_number_from_an_unknown_province_is_refused(region: str) -> None:
    assert reason_of(id_number(region=region)) == InvalidIdNumberReason.REGION


# --- the check digit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first17", "expected"),
    [("11010519491231002", "X"), ("44052418800101001", "4")],
)
def test_check_digit_matches_the_gb_11643_examples(first17: str, expected: str) -> None:
    assert check_digit(first17) == expected


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_digit_completes_the_iso_7064_mod_11_2_sum_to_1(first17: str) -> None:
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    check = check_digit(first17)
    check_value = 10 if check == "X" else int(check)

    assert (sum(int(d) * w for d, w in zip(first17, weights, strict=True)) + check_value) % 11 == 1


# --- the whole rule as a property -----------------------------------------------------------------


regions = st.builds(
    lambda province, rest: province + rest,
    st.sampled_from(sorted(PROVINCES)),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
)
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
serials = st.integers(min_value=0, max_value=999)


@given(regions, births, serials)
def test_any_well_formed_number_parses_and_round_trips_birth_date_and_sex(
    region: str, birth: date, serial: int
) -> None:
    first17 = f"{region}{birth:%Y%m%d}{serial:03d}"

    parsed = parse_id_number(first17 + check_digit(first17), today=TODAY)

    assert parsed.value == first17 + check_digit(first17)
    assert parsed.birth_date == birth
    assert parsed.sex == ("男" if serial % 2 else "女")


@given(regions, births, serials)
def test_changing_any_single_digit_of_the_first_17_makes_a_number_invalid(
    region: str, birth: date, serial: int
) -> None:
    first17 = f"{region}{birth:%Y%m%d}{serial:03d}"
    check = check_digit(first17)

    for position in range(17):
        for digit in "0123456789":
            if digit == first17[position]:
                continue
            changed = first17[:position] + digit + first17[position + 1 :] + check
            with pytest.raises(ValueError):
                parse_id_number(changed, today=TODAY)


# --- mobile numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
def test_mainland_mobiles_from_13x_to_19x_are_valid(prefix: str) -> None:
    assert is_mobile(f"{prefix}812345678")


@pytest.mark.parametrize(
    "phone",
    [
        "12812345678",
        "10812345678",
        "23812345678",
        "1381234567",
        "138123456789",
        "１３８１２３４５６７８",
        "138 1234 5678",
        "+8613812345678",
        "",
    ],
    ids=["12x", "10x", "not-1", "10-digits", "12-digits", "full-width", "spaced", "country-code", "empty"],
)
def test_anything_else_is_not_a_mobile(phone: str) -> None:
    assert not is_mobile(phone)


def test_a_mobile_followed_by_a_newline_is_not_a_mobile() -> None:
    assert not is_mobile("13812345678\n")


# --- ages -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(1990, 6, 15), date(2026, 6, 14), 35),
        (date(1990, 6, 15), date(2026, 6, 15), 36),
        (date(1990, 6, 15), date(2026, 6, 16), 36),
        (date(1990, 12, 31), date(2026, 1, 1), 35),
        (date(2026, 3, 2), date(2026, 3, 2), 0),
        (date(2025, 3, 2), date(2026, 3, 1), 0),
        (date(2025, 3, 2), date(2026, 3, 2), 1),
    ],
    ids=["day-before-birthday", "on-birthday", "day-after-birthday", "new-year", "newborn", "almost-one", "one"],
)
def test_age_goes_up_on_the_birthday(birth: date, today: date, age: int) -> None:
    assert age_on(birth, today) == age


@pytest.mark.parametrize(
    ("today", "age"),
    [
        (date(2026, 2, 28), 25),
        (date(2026, 3, 1), 26),
        (date(2028, 2, 28), 27),
        (date(2028, 2, 29), 28),
    ],
    ids=["feb-28-common-year", "mar-1-common-year", "feb-28-leap-year", "feb-29-leap-year"],
)
def test_someone_born_on_feb_29_ages_on_mar_1_in_common_years_and_on_feb_29_in_leap_years(
    today: date, age: int
) -> None:
    assert age_on(date(2000, 2, 29), today) == age
