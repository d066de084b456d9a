"""What job handlers get: their own database handle and outside clients, one set per worker thread."""

from __future__ import annotations

from dataclasses import dataclass

from yiyue.booking.gate import BookingGate
from yiyue.core.clock import Clock
from yiyue.core.config import Settings
from yiyue.core.crypto import FieldCipher
from yiyue.core.db import Database
from yiyue.notifications.channels import SmsProvider
from yiyue.wechat.client import WeChatClient
from yiyue.wechat.pay import WeChatPayClient


@dataclass
class JobContext:
    settings: Settings
    clock: Clock
    db: Database
    cipher: FieldCipher
    wechat: WeChatClient
    pay: WeChatPayClient
    sms: SmsProvider
    gate: BookingGate
    """This process's gate: the server's own when the workers run inside it; slots freed by jobs reopen it."""
