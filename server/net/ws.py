"""The websocket endpoint `/ws?v=2&room=ID`: a raw ASGI app (no per-message wrappers).

Handshake: Origin and version are checked before anything else; the first message must be
`{"t": "auth", "token": ...}` within `auth_timeout_s` (tokens never travel in URLs, so no log line or
proxy sees them). Everything after is handed to the room core.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qs

import msgpack

from server import limits
from server.net import close_codes as cc
from server.net.connection import Connection
from server.net.hub import Hub
from server.realtime.pose import KIND_POSE_UPLOAD
from server.realtime.registry import SeatRefused
from server.realtime.room import UnknownAvatar

PROTOCOL_VERSION = 2
MAX_MESSAGE_BYTES = int(limits.get("max_message_bytes"))
MAX_ERRORS = 50  # malformed messages tolerated per ERROR_WINDOW_S before closing with 4002
ERROR_WINDOW_S = 10.0
FLOOD_STRIKES = 200  # over-limit messages per FLOOD_WINDOW_S before closing with 4029
FLOOD_WINDOW_S = 5.0
LIMITS = limits.welcome_limits()
_REFUSAL_CODES = {"token_invalid": cc.TOKEN_INVALID, "token_expired": cc.TOKEN_EXPIRED, "room_closed": cc.ROOM_CLOSED}


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class WebSocketEndpoint:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def __call__(self, scope: dict, receive, send) -> None:
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if not self.hub.settings.origin_allowed(headers.get("origin")):
            self.hub.metrics.inc("plaza_handshakes_refused_total", reason="origin")
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
        await send({"type": "websocket.accept"})
        # From here on a refusal is a close frame with a code and a reason the client can read.
        try:
            self._check_query(query)
            room_id, avatar_id, resumed = await self._authenticate(query, receive)
        except _Refused as refusal:
            self.hub.metrics.inc("plaza_handshakes_refused_total", reason=str(refusal.code))
            await send({"type": "websocket.close", "code": refusal.code, "reason": refusal.reason})
            return
        except _Gone:
            return
        await self._session(room_id, avatar_id, resumed, receive, send)

    def _check_query(self, query: dict[str, str]) -> None:
        if "v" not in query:
            raise _Refused(cc.BAD_REQUEST, f"connect as /ws?v={PROTOCOL_VERSION}&room=ID, then send auth")
        if query["v"] != str(PROTOCOL_VERSION):
            raise _Refused(cc.UNSUPPORTED_VERSION, f"protocol version {query['v'][:16]} is not supported; "
                                                   f"this server speaks {PROTOCOL_VERSION}")

    async def _authenticate(self, query: dict[str, str], receive) -> tuple[str, int, bool]:
        """(room id, avatar id, is a reconnect) from the first message, or _Refused with the close code."""
        timeout = limits.get("auth_timeout_s")
        try:
            message = await asyncio.wait_for(receive(), timeout)
        except TimeoutError:
            raise _Refused(cc.AUTH_TIMEOUT, f"send the auth message within {timeout:g} s of connecting") from None
        if message["type"] == "websocket.disconnect":
            raise _Gone
        try:
            auth = msgpack.unpackb(message.get("bytes") or b"", raw=False)
        except Exception:
            auth = None
        if not isinstance(auth, dict) or auth.get("t") != "auth" or not isinstance(auth.get("token"), str):
            raise _Refused(cc.BAD_REQUEST, 'the first message must be {"t": "auth", "token": TOKEN} (msgpack)')
        try:
            info, avatar = self.hub.registry.open_seat(auth["token"], time.time(), query.get("room"))
        except SeatRefused as exc:
            raise _Refused(_REFUSAL_CODES[exc.kind], str(exc)) from None
        # A token is the bearer credential of one seat: presenting it while the seat is connected
        # replaces the older connection (close code 4005), as a reconnecting client expects.
        return info.room.id, avatar.id, avatar.visible

    async def _session(self, room_id: str, avatar_id: int, resumed: bool, receive, send) -> None:
        hub = self.hub
        room = hub.registry.get(room_id)
        now = hub.now()
        transport_protocol = getattr(send, "__self__", None)  # uvicorn's protocol, when nothing wraps `send`
        conn = Connection(
            send, room_id, avatar_id,
            on_dropped_frame=lambda tick: hub.frame_dropped(room_id, avatar_id, tick),
            on_bytes_out=hub.bytes_out, now=now, raw=transport_protocol, tick_s=1.0 / hub.tick_hz,
        )
        was_visible = room.avatars[avatar_id].visible
        room.connect(avatar_id, now)
        hub.attach(conn)
        avatar = room.avatars[avatar_id]
        conn.send_control({
            "t": "welcome", "v": PROTOCOL_VERSION, "room": room_id, "avatar": avatar_id, "name": avatar.name,
            "resume": hub.registry.resume_token(room_id, avatar_id, time.time()),
            "tick_hz": hub.tick_hz, "tick": room.tick_no, "server_time": hub.server_time_ms(now),
            "spawn": list(room.spawn_position(avatar_id)), "resumed": resumed,
            "limits": LIMITS, "roster": room.roster(),
        })
        if not was_visible:
            hub.broadcast(room_id, {"t": "joined", "avatar": {"id": avatar_id, "name": avatar.name,
                                                               "external": False}}, exclude=avatar_id)
        hub.metrics.inc("plaza_connections_total", resumed=str(resumed).lower())
        fast = conn.raw is not None and hasattr(transport_protocol, "fast_receive")
        if fast:  # binary messages are handled as they are parsed, without a queue and a task switch each
            transport_protocol.fast_receive = lambda data: self._on_binary(conn, room, data)
            transport_protocol.on_writable = conn.pump
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.disconnect":
                    break
                if conn.closed:
                    continue
                data = message.get("bytes")
                if data is None:
                    self._error(conn, "binary_only", "send binary frames (msgpack or pose uploads), not text")
                    continue
                self._on_binary(conn, room, data)
        finally:
            if fast:
                transport_protocol.fast_receive = transport_protocol.on_writable = None
            hub.detach(conn)
            if conn.left_on_purpose and room_id in hub.registry.rooms:
                hub.registry.release(room_id, avatar_id)
                hub.broadcast(room_id, {"t": "left", "avatar": avatar_id})

    def _on_binary(self, conn: Connection, room, data: bytes) -> None:
        if conn.closed:
            return
        self.hub.metrics.inc("plaza_bytes_in_total", len(data))
        self.hub.metrics.inc("plaza_frames_in_total")
        if self._handle(conn, room, data) == "leave":
            conn.left_on_purpose = True
            conn.request_close(cc.NORMAL, "bye")

    # -------------------------------------------------------------- messages
    def _handle(self, conn: Connection, room, data: bytes) -> str | None:
        now = self.hub.now()
        if data and data[0] == KIND_POSE_UPLOAD:
            if not conn.pose_bucket.take(now):
                self._strike(conn, now, "pose")
                return None
            rejection = room.receive_pose(conn.avatar_id, data, now)
            if rejection is not None:
                self.hub.metrics.inc("plaza_rejected_total", reason=rejection.code)
                self._error(conn, rejection.code, rejection.message)
            return None
        try:
            message = msgpack.unpackb(data, raw=False)
        except Exception:
            self._error(conn, "malformed", "frame is neither a pose upload nor a msgpack map")
            return None
        if not isinstance(message, dict):
            self._error(conn, "malformed", "control messages are msgpack maps with a 't' field")
            return None
        request_id = message.get("id")
        kind = message.get("t")
        # Acks share the pose budget: a spectator acks every frame, as a shopper's uploads do.
        bucket = conn.pose_bucket if kind == "ack" else conn.control_bucket
        if not bucket.take(now):
            self._strike(conn, now, "pose" if kind == "ack" else "control")
            return None
        try:
            return self._control(conn, room, kind, message, request_id, now)
        except (TypeError, ValueError, KeyError, UnknownAvatar) as exc:
            self._error(conn, "bad_request", f"bad '{kind}' message: {exc}", request_id)
            return None

    def _control(self, conn: Connection, room, kind: Any, message: dict, request_id: Any, now: float) -> str | None:
        if kind == "ping":
            conn.send_control({"t": "pong", "id": request_id, "st": self.hub.server_time_ms(now)})
        elif kind == "ack":
            room.ack(conn.avatar_id, _int(message, "tick"))
        elif kind == "pin":
            avatars = message.get("avatars")
            if not isinstance(avatars, list) or not all(type(a) is int for a in avatars):
                raise ValueError("'avatars' must be a list of avatar ids")
            room.pin(conn.avatar_id, avatars)
            conn.send_control({"t": "ok", "id": request_id})
        elif kind == "teleport":
            to = message.get("to")
            if not (isinstance(to, list) and len(to) == 3 and all(isinstance(v, int | float) for v in to)):
                raise ValueError("'to' must be [x, y, z] in metres")
            target = tuple(float(v) for v in to)
            rejection = room.teleport(conn.avatar_id, target)
            if rejection is None:
                conn.send_control({"t": "ok", "id": request_id, "to": list(target)})
            else:
                self._error(conn, rejection.code, rejection.message, request_id)
        elif kind == "leave":
            return "leave"
        elif kind in ("confirm", "confirmed", "gesture"):
            # Payment confirmation comes from the hands the server sees (or the timed hold over HTTP), never
            # from a client's word.
            self._error(conn, "confirm_forbidden", "a checkout is confirmed by your hand gesture as the server sees "
                        "it, or by the hold-to-pay control; a message cannot confirm it", request_id)
        else:
            self._error(conn, "unknown_type", f"unknown message type {kind!r}", request_id)
        return None

    def _error(self, conn: Connection, code: str, message: str, request_id: Any = None) -> None:
        now = self.hub.now()
        self.hub.metrics.inc("plaza_message_errors_total", reason=code)
        errors: deque[float] = conn.error_times
        errors.append(now)
        while errors and now - errors[0] > ERROR_WINDOW_S:
            errors.popleft()
        if len(errors) > MAX_ERRORS:
            conn.request_close(cc.PROTOCOL_ERRORS, f"more than {MAX_ERRORS} bad messages in {ERROR_WINDOW_S:g} s")
            return
        reply: dict[str, Any] = {"t": "error", "code": code, "msg": message}
        if request_id is not None:
            reply["id"] = request_id
        conn.send_control(reply)

    def _strike(self, conn: Connection, now: float, what: str) -> None:
        self.hub.metrics.inc("plaza_rejected_total", reason=f"rate_{what}")
        strikes = conn.flood_strikes
        strikes.append(now)
        while strikes and now - strikes[0] > FLOOD_WINDOW_S:
            strikes.popleft()
        if len(strikes) > FLOOD_STRIKES:
            conn.request_close(cc.FLOODING, f"{what} messages faster than the documented limit")
        elif len(strikes) == 1 or now - conn.last_error_sent.get("rate_limited", -1e9) >= 1.0:
            conn.last_error_sent["rate_limited"] = now
            conn.send_control({"t": "error", "code": "rate_limited",
                               "msg": f"too many {what} messages; the extra ones were dropped"})


class _Gone(Exception):
    """The client went away during the handshake."""


def _int(message: dict, key: str) -> int:
    value = message.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"'{key}' must be an integer")
    return value
