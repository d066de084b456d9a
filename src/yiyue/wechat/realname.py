"""The wire protocol of the real-name verification service (实名认证): what our client
(``yiyue.accounts.realname``) sends and the fake (``yiyue.wechat.fake.realname``) checks.

``POST {base}/realname/v1/idcard/verify`` with a JSON body ``{"name", "id_number"}`` and four headers:
our app id, a Unix timestamp (seconds), a nonce and the signature, the lowercase hex HMAC-SHA256 under the
app secret of ``app_id\\ntimestamp\\nnonce\\nbody\\n`` (the raw body bytes as sent). A request more than
five minutes off the service's clock, or with a nonce seen in that time, is refused like a bad signature.

Answers: ``200 {"result": "consistent" | "inconsistent", "message", "request_id"}``; a refusal is a 4xx
or 5xx with ``{"code", "message"}`` (``SIGN_ERROR`` 401, ``PARAM_ERROR`` 400, ``SYSTEM_ERROR`` 503).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

PATH_VERIFY = "/realname/v1/idcard/verify"
HEADER_APP_ID = "X-Realname-App-Id"
HEADER_TIMESTAMP = "X-Realname-Timestamp"
HEADER_NONCE = "X-Realname-Nonce"
HEADER_SIGNATURE = "X-Realname-Signature"
MAX_CLOCK_SKEW = timedelta(minutes=5)

CONSISTENT = "consistent"
INCONSISTENT = "inconsistent"


def signature(secret: str, *, app_id: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The request signature: hex HMAC-SHA256 of ``app_id\\ntimestamp\\nnonce\\nbody\\n`` under ``secret``."""
    message = b"\n".join([app_id.encode(), timestamp.encode(), nonce.encode(), body]) + b"\n"
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(secret: str, given: str, *, app_id: str, timestamp: str, nonce: str, body: bytes) -> bool:
    expected = signature(secret, app_id=app_id, timestamp=timestamp, nonce=nonce, body=body)
    return hmac.compare_digest(expected, given)
