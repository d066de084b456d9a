"""Personal data at rest: AES-256-GCM field encryption with key ids, the blind index, and masking."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given
from hypothesis import strategies as st

from yiyue.core.crypto import FieldCipher, mask_id_number, mask_name, mask_phone

OLD_KEY = b"o" * 32
NEW_KEY = b"n" * 32
INDEX_SECRET = b"i" * 32
ID = "11010519491231002X"


def cipher(key: bytes = OLD_KEY, kid: str = "k1", index_secret: bytes = INDEX_SECRET, **retired: bytes) -> FieldCipher:
    return FieldCipher({**retired, kid: key}, kid, index_secret=index_secret)


def tamper(stored: str, position: int) -> str:
    version, kid, payload = stored.split(":", 2)
    raw = bytearray(base64.b64decode(payload))
    raw[position] ^= 0x01
    return f"{version}:{kid}:{base64.b64encode(bytes(raw)).decode()}"


# --- encryption -----------------------------------------------------------------------------------


@given(st.text(max_size=200))
def test_any_text_round_trips(plaintext: str) -> None:
    c = cipher()

    assert c.decrypt(c.encrypt(plaintext, context="id_number"), context="id_number") == plaintext


def test_a_stored_value_names_the_format_version_and_key_id() -> None:
    stored = cipher(kid="2026a").encrypt(ID, context="id_number")

    assert stored.startswith("v1:2026a:")


def test_encrypting_the_same_value_twice_gives_different_ciphertexts() -> None:
    c = cipher()

    values = {c.encrypt(ID, context="id_number") for _ in range(20)}

    assert len(values) == 20


def test_the_ciphertext_does_not_contain_the_plaintext() -> None:
    stored = cipher().encrypt(ID, context="id_number")

    _, _, payload = stored.split(":", 2)
    assert ID not in stored
    assert ID.encode() not in base64.b64decode(payload)


def test_a_value_cannot_be_decrypted_under_another_context() -> None:
    c = cipher()
    stored = c.encrypt(ID, context="id_number")

    with pytest.raises(InvalidTag):
        c.decrypt(stored, context="phone")


@pytest.mark.parametrize("position", [0, 11, 12, 20, -1], ids=["nonce", "nonce-end", "body", "body-mid", "tag"])
def test_a_tampered_value_fails_to_decrypt(position: int) -> None:
    c = cipher()
    stored = c.encrypt(ID, context="id_number")

    with pytest.raises(InvalidTag):
        c.decrypt(tamper(stored, position), context="id_number")


def test_a_value_relabelled_with_another_key_id_fails_to_decrypt() -> None:
    c = cipher(NEW_KEY, "k2", k1=OLD_KEY)
    stored = c.encrypt(ID, context="id_number")

    with pytest.raises(InvalidTag):
        c.decrypt(stored.replace(":k2:", ":k1:"), context="id_number")


def test_a_value_of_an_unknown_format_version_is_refused() -> None:
    c = cipher()
    stored = c.encrypt(ID, context="id_number")

    with pytest.raises(ValueError, match="v2:k1"):
        c.decrypt("v2" + stored[2:], context="id_number")


def test_a_value_encrypted_under_another_key_fails_to_decrypt() -> None:
    stored = cipher(OLD_KEY).encrypt(ID, context="id_number")

    with pytest.raises(InvalidTag):
        cipher(NEW_KEY).decrypt(stored, context="id_number")


# --- key rotation ---------------------------------------------------------------------------------


def test_after_rotation_old_values_still_decrypt_with_the_retired_key() -> None:
    stored = cipher(OLD_KEY, "k1").encrypt(ID, context="id_number")

    rotated = cipher(NEW_KEY, "k2", k1=OLD_KEY)

    assert rotated.decrypt(stored, context="id_number") == ID


def test_after_rotation_new_values_are_written_under_the_new_key() -> None:
    rotated = cipher(NEW_KEY, "k2", k1=OLD_KEY)

    stored = rotated.encrypt(ID, context="id_number")

    assert stored.startswith("v1:k2:")
    assert cipher(NEW_KEY, "k2").decrypt(stored, context="id_number") == ID


def test_once_the_old_key_is_dropped_old_values_no_longer_decrypt() -> None:
    stored = cipher(OLD_KEY, "k1").encrypt(ID, context="id_number")

    with pytest.raises(ValueError, match="k1"):
        cipher(NEW_KEY, "k2").decrypt(stored, context="id_number")


@pytest.mark.parametrize("length", [0, 16, 24, 31, 33, 64])
def test_a_data_key_that_is_not_32_bytes_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        FieldCipher({"k1": b"k" * length}, "k1", index_secret=INDEX_SECRET)


def test_a_retired_key_that_is_not_32_bytes_is_refused_too() -> None:
    with pytest.raises(ValueError, match="'old'"):
        FieldCipher({"old": b"short", "k1": NEW_KEY}, "k1", index_secret=INDEX_SECRET)


# --- blind index ----------------------------------------------------------------------------------


def test_the_blind_index_is_deterministic() -> None:
    assert cipher().blind_index(ID, context="id_number") == cipher().blind_index(ID, context="id_number")


def test_different_values_have_different_blind_indexes() -> None:
    c = cipher()

    assert c.blind_index(ID, context="id_number") != c.blind_index("110105199001010037", context="id_number")


def test_the_blind_index_depends_on_the_context() -> None:
    c = cipher()

    assert c.blind_index(ID, context="id_number") != c.blind_index(ID, context="phone")


def test_the_blind_index_depends_on_its_secret() -> None:
    other = cipher(index_secret=b"j" * 32)
    assert cipher().blind_index(ID, context="id_number") != other.blind_index(ID, context="id_number")


def test_a_short_blind_index_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        cipher(index_secret=b"short")


def test_the_blind_index_is_not_the_plaintext_nor_a_plain_hash_of_it() -> None:
    index = cipher().blind_index(ID, context="id_number")

    assert ID not in index
    assert index not in {
        hashlib.sha256(ID.encode()).hexdigest(),
        hashlib.sha256(b"id_number\x00" + ID.encode()).hexdigest(),
    }
    assert len(index) == 64
    int(index, 16)


def test_the_context_separator_keeps_context_and_value_apart() -> None:
    c = cipher()

    assert c.blind_index("b", context="a") != c.blind_index("", context="a\x00b")


def test_the_blind_index_survives_key_rotation() -> None:
    before = cipher(OLD_KEY, "k1").blind_index(ID, context="id_number")

    after = cipher(NEW_KEY, "k2", k1=OLD_KEY).blind_index(ID, context="id_number")

    assert after == before


# --- masking --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [("110105199001011234", "110***********1234"), (ID, "110***********002X")],
)
def test_an_id_number_shows_its_first_3_and_last_4_characters(value: str, masked: str) -> None:
    assert mask_id_number(value) == masked
    assert len(mask_id_number(value)) == len(value)


def test_a_phone_shows_its_first_3_and_last_4_digits() -> None:
    assert mask_phone("13812345678") == "138****5678"


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三丰", "张*丰"), ("李四", "李*"), ("王", "王"), ("欧阳娜娜", "欧**娜"), ("", "")],
)
def test_a_name_shows_only_its_first_and_last_characters(name: str, masked: str) -> None:
    assert mask_name(name) == masked
