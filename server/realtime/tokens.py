"""Short-lived signed tokens: a join token (from the HTTP seat reservation) and a resume token (to take
the same seat back after a dropped connection). HMAC-SHA256 over a msgpack payload; no server state."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

import msgpack

JOIN, RESUME = "join", "resume"


class TokenError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # "token_invalid" | "token_expired" | "token_wrong_room"


@dataclass(frozen=True)
class SeatToken:
    kind: str
    room_id: str
    avatar_id: int
    expires_at: float  # wall-clock seconds (time.time())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, token: SeatToken) -> str:
    payload = msgpack.packb([token.kind, token.room_id, token.avatar_id, round(token.expires_at, 3)])
    mac = hmac.new(secret, payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(mac)}"


def verify(secret: bytes, text: str, room_id: str, now: float) -> SeatToken:
    """Check signature, room and expiry; raise TokenError with a stable code otherwise."""
    try:
        payload_b64, mac_b64 = text.split(".")
        payload, mac = _unb64(payload_b64), _unb64(mac_b64)
    except (ValueError, TypeError) as exc:
        raise TokenError("token_invalid", "token is not in the form payload.signature") from exc
    if not hmac.compare_digest(mac, hmac.new(secret, payload, hashlib.sha256).digest()[:16]):
        raise TokenError("token_invalid", "token signature does not match (wrong server or altered token)")
    try:
        kind, token_room, avatar_id, expires_at = msgpack.unpackb(payload)
    except (ValueError, TypeError, msgpack.ExtraData) as exc:
        raise TokenError("token_invalid", "token payload is unreadable") from exc
    if token_room != room_id:
        raise TokenError("token_wrong_room", "token was issued for another room")
    if now > expires_at:
        raise TokenError("token_expired", "token has expired; reserve a seat again")
    return SeatToken(kind, token_room, int(avatar_id), float(expires_at))
