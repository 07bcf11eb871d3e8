"""Short-lived signed seat tokens: a join token (from the HTTP seat reservation) and a resume token (to take
the same seat back after a dropped connection). HMAC-SHA256 over a msgpack payload.

A token names (room, avatar id, seat nonce). The nonce is drawn when the seat is reserved and dies with the
seat, so a token can never open a later seat that happens to reuse the avatar id (ids are recycled).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

import msgpack

JOIN, RESUME = "join", "resume"
MAX_TOKEN_CHARS = 256


class TokenError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # "token_invalid" | "token_expired" | "token_wrong_room"


@dataclass(frozen=True)
class SeatToken:
    kind: str
    room_id: str
    avatar_id: int
    nonce: bytes  # the seat's nonce (Avatar.nonce)
    expires_at: float  # wall-clock seconds (time.time())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, token: SeatToken) -> str:
    payload = msgpack.packb([token.kind, token.room_id, token.avatar_id, token.nonce, round(token.expires_at, 3)])
    mac = hmac.new(secret, payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(mac)}"


def verify(secret: bytes, text: str, now: float, room_id: str | None = None) -> SeatToken:
    """Check form, signature, room (when given) and expiry; raise TokenError with a stable code otherwise.
    The caller still checks the nonce against the seat."""
    if not isinstance(text, str) or len(text) > MAX_TOKEN_CHARS:
        raise TokenError("token_invalid", "token must be a string of at most 256 characters")
    try:
        payload_b64, mac_b64 = text.split(".")
        payload, mac = _unb64(payload_b64), _unb64(mac_b64)
    except (ValueError, TypeError) as exc:
        raise TokenError("token_invalid", "token is not in the form payload.signature") from exc
    if not hmac.compare_digest(mac, hmac.new(secret, payload, hashlib.sha256).digest()[:16]):
        raise TokenError("token_invalid", "token signature does not match (wrong server or altered token)")
    try:
        kind, token_room, avatar_id, nonce, expires_at = msgpack.unpackb(payload)
    except (ValueError, TypeError, msgpack.ExtraData) as exc:
        raise TokenError("token_invalid", "token payload is unreadable (issued by an older server?)") from exc
    if room_id is not None and token_room != room_id:
        raise TokenError("token_wrong_room", "token was issued for another room")
    if now > expires_at:
        raise TokenError("token_expired", "token has expired; reserve a seat again")
    return SeatToken(kind, token_room, int(avatar_id), bytes(nonce), float(expires_at))
