"""The keys a merchant and the fake WeChat Pay share, and fresh ones for development and tests.

The key material itself is made by ``yiyue.core.config.generate_development_pay_secrets``: settings
generate missing development secrets with it at start-up, and core does not import wechat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from yiyue.core.config import DEV_WECHAT_PAY_MCHID, Settings, generate_development_pay_secrets
from yiyue.wechat.pay import PayConfig


@dataclass(frozen=True)
class FakePayKeys:
    """Everything a merchant and the fake WeChat Pay share, as PEM and strings.

    The merchant's key pair (requests are signed with the private half; the fake verifies with the public
    half, as WeChat does with the merchant certificate) and WeChat Pay's (the fake signs with
    ``platform_private_key``; the merchant verifies with ``public_key``, named ``public_key_id``).
    """

    mchid: str
    merchant_private_key: str = field(repr=False)
    merchant_serial_no: str
    apiv3_key: str = field(repr=False)
    public_key: str
    public_key_id: str
    platform_private_key: str = field(repr=False)

    def __post_init__(self) -> None:
        public = serialization.load_pem_public_key(self.public_key.encode())
        platform = self.platform_key.public_key()
        if not isinstance(public, rsa.RSAPublicKey) or public.public_numbers() != platform.public_numbers():
            raise ValueError(
                "the fake WeChat Pay private key is not the pair of the WeChat Pay public key: set both "
                "YIYUE_WECHAT_PAY_PUBLIC_KEY and YIYUE_WECHAT_PAY_FAKE_PLATFORM_PRIVATE_KEY, or neither"
            )
        if len(self.apiv3_key.encode()) != 32:
            raise ValueError("the APIv3 key must be 32 bytes")

    # Parsed once: loading an RSA private key checks it, which takes tens of milliseconds.

    @cached_property
    def platform_key(self) -> rsa.RSAPrivateKey:
        return _rsa_private_key(self.platform_private_key)

    @cached_property
    def merchant_key(self) -> rsa.RSAPublicKey:
        """The merchant's public key (what WeChat Pay knows from the merchant certificate)."""
        return _rsa_private_key(self.merchant_private_key).public_key()

    @property
    def merchant_public_key(self) -> str:
        """PEM of ``merchant_key``."""
        return self.merchant_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    @classmethod
    def from_settings(cls, settings: Settings) -> FakePayKeys:
        """The keys of ``YIYUE_WECHAT_PAY_*`` (generated into ``var/dev-secrets.json`` in development)."""
        return cls(
            mchid=settings.wechat_pay_mchid,
            merchant_private_key=settings.wechat_pay_merchant_private_key,
            merchant_serial_no=settings.wechat_pay_merchant_serial_no,
            apiv3_key=settings.wechat_pay_apiv3_key,
            public_key=settings.wechat_pay_public_key,
            public_key_id=settings.wechat_pay_public_key_id,
            platform_private_key=settings.wechat_pay_fake_platform_private_key,
        )

    def pay_config(self, *, appid: str, gateway: str, notify_url: str, refund_notify_url: str = "") -> PayConfig:
        """The merchant's side of these keys, for ``yiyue.wechat.pay.WeChatPayClient``."""
        return PayConfig(
            mchid=self.mchid,
            appid=appid,
            merchant_private_key=self.merchant_private_key,
            merchant_serial_no=self.merchant_serial_no,
            apiv3_key=self.apiv3_key,
            public_key=self.public_key,
            public_key_id=self.public_key_id,
            gateway=gateway,
            notify_url=notify_url,
            refund_notify_url=refund_notify_url,
        )


def generate_dev_pay_keys(mchid: str = DEV_WECHAT_PAY_MCHID) -> FakePayKeys:
    """Fresh keys (two RSA-2048 pairs, a serial, a ``PUB_KEY_ID_`` id, a 32-character APIv3 key)."""
    generated = generate_development_pay_secrets()
    return FakePayKeys(
        mchid=mchid,
        merchant_private_key=generated["wechat_pay_merchant_private_key"],
        merchant_serial_no=generated["wechat_pay_merchant_serial_no"],
        apiv3_key=generated["wechat_pay_apiv3_key"],
        public_key=generated["wechat_pay_public_key"],
        public_key_id=generated["wechat_pay_public_key_id"],
        platform_private_key=generated["wechat_pay_fake_platform_private_key"],
    )


def _rsa_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key
