"""One websocket client: an asyncio protocol that owns its connection's lifecycle and its sync state.

States (like h11's and the `websockets` library's own connection state machines):

    CONNECTING --auth ok--> OPEN --transport lost--> DROPPED   (the seat waits resume_grace_s for a resume)
        |                    |---leave / server close--> CLOSED
        '--refused / gone--> CLOSED

The websocket protocol itself (handshake, control frames, close handshake, RFC checks) is the `websockets`
library's sans-I/O `ServerProtocol`, through its public API; binary data frames on the hot path are split off
by `FrameSplitter` (server/net/ws_frames.py). Pose uploads go to the room; control messages to the typed table
in server/net/messages.py; snapshots come from the hub's tick through `Outbox` (newest wins). The session
never waits: nothing in it is a coroutine.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import socket
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import msgpack
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State as WsState
from websockets.server import ServerProtocol

from server import limits
from server.net import close_codes as cc
from server.net import messages
from server.net.outbox import Outbox
from server.net.rate import TokenBucket, Window
from server.net.ws_frames import FrameSplitter, binary_frame, unmask
from server.realtime.pose import KIND_POSE_UPLOAD, UPLOAD_HEADER
from server.realtime.registry import SeatRefused
from server.realtime.room import UnknownAvatar
from server.realtime.sync import ClientSync

if TYPE_CHECKING:
    from server.net.hub import Hub
    from server.realtime.room import Room

log = logging.getLogger(__name__)
# The library logs every frame at debug level (auth frames hold tokens): it logs at warning and above only.
_WS_LOG = logging.getLogger("server.net.session.frames")
_WS_LOG.setLevel(logging.WARNING)

PROTOCOL_VERSION = 2
MAX_MESSAGE_BYTES = int(limits.get("max_message_bytes"))
MAX_ERRORS = 50  # malformed messages tolerated per ERROR_WINDOW_S before closing with 4002
ERROR_WINDOW_S = 10.0
FLOOD_STRIKES = 200  # over-limit messages per FLOOD_WINDOW_S before closing with 4029
FLOOD_WINDOW_S = 5.0
KEEPALIVE_IDLE_S = 20.0  # nothing received this long: ping; twice as long: the peer is gone
CLOSE_HANDSHAKE_S = 3.0  # after our close frame, wait this long for the client's before cutting TCP
WRITE_BUFFER_HIGH = 32 * 1024  # flow control starts after a few frames, not 64 KiB of stale poses
WRITE_BUFFER_LOW = 8 * 1024
LIMITS = limits.welcome_limits()
_REFUSAL_CODES = {"token_invalid": cc.TOKEN_INVALID, "token_expired": cc.TOKEN_EXPIRED, "room_closed": cc.ROOM_CLOSED}


class SessionState(enum.Enum):
    CONNECTING = "connecting"
    OPEN = "open"
    DROPPED = "dropped"
    CLOSED = "closed"


class Session(asyncio.BufferedProtocol):
    def __init__(self, hub: Hub, address: str) -> None:
        self.hub = hub
        self.address = address
        self.state = SessionState.CONNECTING
        self.ws = ServerProtocol(max_size=MAX_MESSAGE_BYTES, logger=_WS_LOG)
        self.splitter = FrameSplitter(MAX_MESSAGE_BYTES, self._on_data, self._on_slow_bytes)
        self._read_buffer = hub.read_buffer
        self._short_path = False  # open, no close begun: whole pose upload frames may skip the splitter
        self.transport: asyncio.Transport | None = None
        self.outbox = Outbox(self, self._dropped_frame, self.close, tick_s=1.0 / hub.clock.hz)
        self.room_id = ""
        self.query_room: str | None = None  # `room` of the connect URL
        self.avatar_id = 0
        self.room: Room | None = None
        self.sync: ClientSync | None = None
        now = hub.clock.time_fn()
        # The burst covers the lag a client is allowed (max_behind_s): uploads are judged when the server reads
        # them, so after a stall of the server's own, an honest client's backlog arrives at once.
        pose_rate = limits.get("pose_uploads_per_s")
        self.pose_bucket = TokenBucket(rate=pose_rate, burst=pose_rate * limits.get("max_behind_s"), now=now)
        self.control_bucket = TokenBucket(rate=limits.get("control_messages_per_s"), burst=60.0, now=now)
        self.flood = Window(FLOOD_STRIKES, FLOOD_WINDOW_S)
        self.errors = Window(MAX_ERRORS, ERROR_WINDOW_S)
        self.last_error_sent: dict[str, float] = {}
        self.close_requested: tuple[int, str] | None = None
        self.left_on_purpose = False
        self.last_received = now
        self.bytes_in = 0
        self.frames_in = 0  # binary messages: pose uploads and control messages
        self.pose_uploads = 0
        self._fragment_kind: Opcode | None = None  # a fragmented message being reassembled
        self._fragments: list[bytes] = []
        self._head = bytearray()  # the upgrade request until its head is complete
        self._auth_timer: asyncio.TimerHandle | None = None
        self._cut_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH, low=WRITE_BUFFER_LOW)
        cap_send_buffer(transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        # A buffered protocol: the transport reads into the hub's buffer. A plain protocol's transport receives
        # into a new 256 KiB bytes object per read and shrinks it to the few bytes that came.
        return self._read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        buf = self._read_buffer
        n = nbytes - 6
        # The usual read: exactly one whole pose upload frame (FIN + binary, masked, 2-byte header; kind byte
        # KIND_POSE_UPLOAD once unmasked) at a frame boundary. It takes this short path: the same checks as the
        # splitter's and the message path's, with fewer calls; every other read goes through `data_received`.
        if (self._short_path and 8 <= n < 126 and buf[0] == 0x82 and buf[1] == 0x80 | n
                and buf[6] ^ buf[2] == KIND_POSE_UPLOAD and self.splitter.idle):
            now = self.last_received = self.hub.clock.time_fn()
            payload = unmask(buf[6:nbytes], bytes(buf[2:6]))
            self.bytes_in += n
            self.frames_in += 1
            self._pose(payload, now)
            return
        self.data_received(bytes(buf[:nbytes]))  # copied out: the buffer is reused at once

    def data_received(self, data: bytes) -> None:
        self.last_received = self.hub.clock.time_fn()
        if self.ws.state is not WsState.CONNECTING:
            self.splitter.feed(data)
            return
        # The upgrade request: the library gets exactly its head; frames that came along with it go through
        # the splitter once the handshake is done, so that no frame is ever split between the two.
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > 64 * 1024:
                self._cut()
            return
        head, rest = bytes(self._head[: end + 4]), bytes(self._head[end + 4 :])
        self._head = bytearray()
        self._on_slow_bytes(head)
        if rest and self.ws.state is WsState.OPEN:
            self.splitter.feed(rest)

    def eof_received(self) -> bool | None:
        self.ws.receive_eof()
        self._drain()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._auth_timer, self._cut_timer):
            if timer is not None:
                timer.cancel()
        self.outbox.shut()
        self._short_path = False
        was_open = self.state is SessionState.OPEN
        self.state = SessionState.CLOSED if (self.close_requested or not was_open) else SessionState.DROPPED
        if was_open:
            self.hub.detach(self)
            log.debug("WebSocket /ws from %s: avatar %d %s", self.address, self.avatar_id, self.state.value)
        self.transport = None

    def pause_writing(self) -> None:
        self.outbox.pause()

    def resume_writing(self) -> None:
        self.outbox.resume()

    # ------------------------------------------------------------------ writing
    def write(self, data: bytes) -> None:
        """The outbox's writer until the session opens (then the transport itself): only while the websocket is open."""
        if self.transport is not None and self.ws.state is WsState.OPEN:
            self.transport.write(data)

    def send(self, message: dict[str, Any]) -> None:
        """A control message (msgpack map), in order."""
        self.outbox.send(binary_frame(msgpack.packb(message)))

    def _flush(self) -> None:
        """What the websocket library has to send (handshake response, pongs, close frames)."""
        transport = self.transport
        if transport is None:
            return
        for chunk in self.ws.data_to_send():
            if chunk:
                transport.write(chunk)
            else:  # the library says: the closing handshake is over, end the TCP connection
                transport.close()
                return
        if self.ws.close_expected() and self._cut_timer is None:
            self._cut_timer = asyncio.get_running_loop().call_later(CLOSE_HANDSHAKE_S, self._cut)

    def _cut(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def close(self, code: int, reason: str) -> None:
        """End the connection with a close code and a reason the client can read (at most 120 bytes)."""
        if self.close_requested is not None:
            return
        self.close_requested = (code, reason)
        self._short_path = False
        self.outbox.shut()
        if self.ws.state is WsState.OPEN:
            self.ws.send_close(code, reason.encode()[:120].decode("utf-8", "ignore"))
            self._flush()
        elif self.transport is not None:
            self.transport.close()

    # ------------------------------------------------------------------ reading
    def _on_slow_bytes(self, data: bytes) -> None:
        self.ws.receive_data(data)
        self._drain()

    def _drain(self) -> None:
        for event in self.ws.events_received():
            if isinstance(event, Request):
                self._handshake(event)
            elif isinstance(event, Frame):
                self._on_frame(event)
        if self.ws.state is WsState.CLOSING or self.ws.state is WsState.CLOSED:
            # The client closed or the library failed the connection: every later byte is the library's, and
            # nothing more of ours goes out (the outbox writes to the transport itself while the session is open)
            self.splitter.stop()
            self._short_path = False
            self.outbox.shut()
        self._flush()
        if self.ws.state is WsState.CLOSED and self.transport is not None:
            self.transport.close()

    def _on_frame(self, frame: Frame) -> None:
        """Frames the library parsed: text and fragmented messages (it answers pings and close itself)."""
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if frame.fin:
                self._message(opcode, frame.data)
            else:
                self._fragment_kind, self._fragments = opcode, [frame.data]
        elif opcode is Opcode.CONT and self._fragment_kind is not None:
            self._fragments.append(frame.data)
            if frame.fin:
                kind, data = self._fragment_kind, b"".join(self._fragments)
                self._fragment_kind, self._fragments = None, []
                self._message(kind, data)

    def _message(self, opcode: Opcode, data: bytes) -> None:
        if opcode is Opcode.TEXT:
            self._on_text()
        else:
            self._on_data(data)

    def _on_text(self) -> None:
        if self.state is SessionState.OPEN:
            self.error("binary_only", "send binary frames (msgpack or pose uploads), not text")
        elif self.state is SessionState.CONNECTING:
            self._refuse(cc.BAD_REQUEST, 'the first message must be {"t": "auth", "token": TOKEN} (msgpack)')

    def _on_data(self, data: bytes) -> None:
        """One binary message."""
        if self.state is SessionState.OPEN:
            if self.close_requested is None:
                self.bytes_in += len(data)
                self.frames_in += 1
                self._handle(data)
        elif self.state is SessionState.CONNECTING and self.close_requested is None:
            self._authenticate(data)

    # ------------------------------------------------------------------ handshake and auth
    def _handshake(self, request: Request) -> None:
        hub = self.hub
        if not hub.settings.origin_allowed(request.headers.get("Origin")):
            hub.metrics.inc("plaza_handshakes_refused_total", reason="origin")
            self.ws.send_response(self.ws.reject(403, "Origin not allowed\n"))
            self._flush()
            return
        response = self.ws.accept(request)
        self.ws.send_response(response)
        self._flush()
        if response.status_code != 101:  # not a valid upgrade; the library said why
            hub.metrics.inc("plaza_handshakes_refused_total", reason="upgrade")
            return
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        self.query_room = query.get("room")
        if "v" not in query:
            self._refuse(cc.BAD_REQUEST, f"connect as /ws?v={PROTOCOL_VERSION}&room=ID, then send auth")
        elif query["v"] != str(PROTOCOL_VERSION):
            self._refuse(cc.UNSUPPORTED_VERSION, f"protocol version {query['v'][:16]} is not supported; "
                                                 f"this server speaks {PROTOCOL_VERSION}")
        else:
            timeout = limits.get("auth_timeout_s")
            self._auth_timer = asyncio.get_running_loop().call_later(
                timeout, self._refuse, cc.AUTH_TIMEOUT, f"send the auth message within {timeout:g} s of connecting")

    def _refuse(self, code: int, reason: str) -> None:
        if self.state is not SessionState.CONNECTING:
            return
        self.hub.metrics.inc("plaza_handshakes_refused_total", reason=str(code))
        self.state = SessionState.CLOSED
        self.close(code, reason)

    def _authenticate(self, data: bytes) -> None:
        if self._auth_timer is not None:
            self._auth_timer.cancel()
            self._auth_timer = None
        try:
            auth = msgpack.unpackb(data, raw=False)
        except Exception:
            auth = None
        if not isinstance(auth, dict) or auth.get("t") != "auth" or not isinstance(auth.get("token"), str):
            self._refuse(cc.BAD_REQUEST, 'the first message must be {"t": "auth", "token": TOKEN} (msgpack)')
            return
        try:
            info, avatar = self.hub.registry.open_seat(auth["token"], time.time(), self.query_room)
        except SeatRefused as exc:
            self._refuse(_REFUSAL_CODES[exc.kind], str(exc))
            return
        self._open(info.room, avatar.id)

    def _open(self, room: Room, avatar_id: int) -> None:
        hub = self.hub
        now = hub.clock.time_fn()
        self.room, self.room_id, self.avatar_id = room, room.id, avatar_id
        resumed = room.avatars[avatar_id].visible  # the seat was already live or lingering
        avatar = room.connect(avatar_id, now)
        self.sync = ClientSync(avatar_id, avatar.slot)
        self.state = SessionState.OPEN
        self._short_path = self.close_requested is None
        if self.transport is not None and self.close_requested is None:
            self.outbox.writer = self.transport  # straight to the socket from now on (shut when the ws leaves OPEN)
        hub.attach(self)
        self.send({
            "t": "welcome", "v": PROTOCOL_VERSION, "room": room.id, "avatar": avatar_id, "name": avatar.name,
            "resume": hub.registry.resume_token(room.id, avatar_id, time.time()),
            "tick_hz": hub.clock.hz, "tick": room.tick_no, "server_time": hub.server_time_ms(now),
            "spawn": list(room.spawn_position(avatar_id)), "resumed": resumed,
            "limits": LIMITS, "roster": room.roster(),
        })
        if not resumed:
            hub.broadcast(room.id, {"t": "joined", "avatar": room.describe(avatar)}, exclude=avatar_id)
        hub.metrics.inc("plaza_connections_total", resumed=str(resumed).lower())
        log.debug("WebSocket /ws from %s: avatar %d in room %s (resumed: %s)", self.address, avatar_id, room.id,
                  resumed)

    # ------------------------------------------------------------------ messages
    def _handle(self, data: bytes) -> None:
        now = self.hub.clock.time_fn()
        if data and data[0] == KIND_POSE_UPLOAD:
            self._pose(data, now)
            return
        try:
            raw = msgpack.unpackb(data, raw=False)
        except Exception:
            self.error("malformed", "frame is neither a pose upload nor a msgpack map")
            return
        if not isinstance(raw, dict):
            self.error("malformed", "control messages are msgpack maps with a 't' field")
            return
        kind = raw.get("t")
        entry = messages.TABLE.get(kind) if isinstance(kind, str) else None
        bucket = self.pose_bucket if entry is not None and entry.budget == "pose" else self.control_bucket
        if not bucket.take(now):
            self._strike(now, "pose" if bucket is self.pose_bucket else "control")
            return
        request_id = raw.get("id") if isinstance(raw.get("id"), int | str) else None
        if entry is None:
            self.error("unknown_type", f"unknown message type {kind!r}", request_id)
            return
        if entry.handler is None:
            self.error("bad_request", f"'{kind}' is only valid as the first message", request_id)
            return
        try:
            entry.handler(self, messages.parse(entry, raw), now)
        except (messages.BadMessage, UnknownAvatar) as exc:
            self.error("bad_request", f"bad '{kind}' message: {exc}", request_id)

    def _pose(self, data: bytes, now: float) -> None:
        """A pose upload: rate-limited, its acknowledgement noted, then the room's (which checks it)."""
        if not self.pose_bucket.take(now):
            self._strike(now, "pose")
            return
        self.pose_uploads += 1
        if len(data) >= UPLOAD_HEADER.size:  # kind u8, presence u8, seq u16, ack u32
            ack = int.from_bytes(data[4:8], "little")
            if ack:
                self.sync.ack(ack, self.room.tick_no)
        rejection = self.room.receive_pose(self.avatar_id, data, now)
        if rejection is not None:
            self.hub.metrics.inc("plaza_rejected_total", reason=rejection.code)
            self.error(rejection.code, rejection.message)

    def leave(self) -> None:
        self.left_on_purpose = True
        self.close(cc.NORMAL, "bye")

    def error(self, code: str, message: str, request_id: Any = None) -> None:
        now = self.hub.clock.time_fn()
        self.hub.metrics.inc("plaza_message_errors_total", reason=code)
        if self.errors.add(now):
            self.close(cc.PROTOCOL_ERRORS, f"more than {MAX_ERRORS} bad messages in {ERROR_WINDOW_S:g} s")
            return
        reply: dict[str, Any] = {"t": "error", "code": code, "msg": message}
        if request_id is not None:
            reply["id"] = request_id
        self.send(reply)

    def _strike(self, now: float, what: str) -> None:
        self.hub.metrics.inc("plaza_rejected_total", reason=f"rate_{what}")
        if self.flood.add(now):
            self.close(cc.FLOODING, f"{what} messages faster than the documented limit")
        elif len(self.flood) == 1 or now - self.last_error_sent.get("rate_limited", -1e9) >= 1.0:
            self.last_error_sent["rate_limited"] = now
            self.send({"t": "error", "code": "rate_limited",
                       "msg": f"too many {what} messages; the extra ones were dropped"})

    def _dropped_frame(self, tick: int) -> None:
        if self.sync is not None:
            self.sync.dropped(tick)
        self.hub.metrics.inc("plaza_frames_replaced_total")

    # ------------------------------------------------------------------ housekeeping (once a second)
    def keepalive(self, now: float) -> None:
        """Ping a quiet peer; drop one that stays silent (a half-open TCP connection never says so)."""
        idle = now - self.last_received
        if idle > 2 * KEEPALIVE_IDLE_S:
            self.close(1011, "keepalive ping timeout")
        elif idle > KEEPALIVE_IDLE_S and self.ws.state is WsState.OPEN:
            self.ws.send_ping(b"")
            self._flush()


def cap_send_buffer(transport: asyncio.BaseTransport) -> None:
    """A small kernel send buffer (limits: socket_send_buffer_bytes): on loopback it would otherwise grow to
    megabytes before the transport reports backpressure, hiding seconds of backlog from a slow reader."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(limits.get("socket_send_buffer_bytes")))
