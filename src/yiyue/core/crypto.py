"""Personal data at rest: AES-256-GCM with a key id, and a keyed blind index for exact look-ups.

A stored value reads ``v1:<key id>:<base64(nonce || ciphertext || tag)>``, so keys can be rotated: new
values use the current key, old ones still decrypt with the retired key named in the value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"


class FieldCipher:
    def __init__(self, keys: dict[str, bytes], current_key_id: str, *, index_secret: bytes) -> None:
        """``index_secret`` keys the blind index. It must outlive data-key rotations: a new index key would
        give every stored value a new index, and look-ups (one ID number, one account) would miss."""
        for kid, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"data key {kid!r} must be 32 bytes")
        if len(index_secret) < 32:
            raise ValueError("the blind index secret must be at least 32 bytes")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self._current = current_key_id
        self._index_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"yiyue blind index v1").derive(
            index_secret
        )

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """``context`` (e.g. the column name) is bound as associated data: a value can't be moved to another column."""
        nonce = os.urandom(12)
        sealed = self._keys[self._current].encrypt(nonce, plaintext.encode(), context.encode())
        return f"{VERSION}:{self._current}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, *, context: str) -> str:
        version, kid, payload = stored.split(":", 2)
        if version != VERSION or kid not in self._keys:
            raise ValueError(f"cannot decrypt a value under {version}:{kid}")
        raw = base64.b64decode(payload)
        return self._keys[kid].decrypt(raw[:12], raw[12:], context.encode()).decode()

    def blind_index(self, value: str, *, context: str) -> str:
        """Deterministic keyed hash: equal inputs match, the input can't be recovered without the key."""
        mac = hmac.new(self._index_key, f"{context}\x00{value}".encode(), hashlib.sha256)
        return mac.hexdigest()


def mask_id_number(value: str) -> str:
    """``110105199001011234`` -> ``110***********1234``."""
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    """``13812345678`` -> ``138****5678``."""
    return value[:3] + "****" + value[-4:]


def mask_name(value: str) -> str:
    """``张三丰`` -> ``张*丰``; ``李四`` -> ``李*``: for staff lists and logs."""
    if len(value) <= 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]
