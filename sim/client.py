"""Reference client for the Plaza protocol (docs/PROTOCOL.md), used by the tests and the load simulator.

Three layers, usable separately:
- `encode_pose_upload` and `dequantize_avatar`: the binary layouts.
- `ClientSession`: sans-I/O protocol state (welcome, roster, delta baselines, acks).
- `PlazaClient`: asyncio transport (HTTP seat reservation + a websocket on websockets' sans-I/O protocol).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from server.realtime.codec import FRAME_HEADER, AvatarState, Snapshot, SnapshotError, decode_frame
from server.realtime.pose import (
    CONTROLLERS,
    KIND_POSE_UPLOAD,
    KIND_SNAPSHOT,
    N_BODY_JOINTS,
    N_PARTS,
    PART_FLOATS,
    PART_NAMES,
    PART_OFFSETS,
    UPLOAD_HEADER,
    UPLOAD_TRIGGERS,
    quantize_trigger,
)
from server.realtime.quantize import dequantize_positions_mm, dequantize_quats

HISTORY_TICKS = 64
PROTOCOL_VERSION = 2
ACK_EVERY_S = 0.25  # a client that uploads nothing still acknowledges this often


def upload_rows(parts: dict[int, np.ndarray]) -> tuple[int, list[bytes]]:
    """Pose uploads for many avatars at once: `parts` maps part -> (N, PART_FLOATS[part]) values.
    Returns the presence byte and each avatar's float payload (prefix it with `upload_header`)."""
    order = sorted(parts)
    presence = sum(1 << p for p in order)
    matrix = np.concatenate([np.asarray(parts[p], dtype="<f4") for p in order], axis=1)
    return presence, [row.tobytes() for row in matrix]


def upload_header(presence: int, seq: int, ack: int) -> bytes:
    return UPLOAD_HEADER.pack(KIND_POSE_UPLOAD, presence, seq & 0xFFFF, ack & 0xFFFFFFFF)


def encode_pose_upload(seq: int, ack: int, parts: dict[int, np.ndarray],
                       triggers: dict[int, float] | None = None) -> bytes:
    """A pose upload: `parts` maps part index -> its float values (PART_FLOATS[part] of them).
    Head (part 0) is required. `triggers`: controller part -> trigger value 0..1 (presence bit 6 and one byte per
    present controller, left first; a present controller without a value sends 0)."""
    presence = 0
    chunks = []
    for part in range(N_PARTS):
        values = parts.get(part)
        if values is None:
            continue
        values = np.asarray(values, dtype="<f4").reshape(-1)
        if values.size != PART_FLOATS[part]:
            raise ValueError(f"{PART_NAMES[part]} needs {PART_FLOATS[part]} floats, got {values.size}")
        presence |= 1 << part
        chunks.append(values.tobytes())
    if not presence & 1:
        raise ValueError("a pose upload needs the head")
    controllers = [p for p in CONTROLLERS if presence >> p & 1]
    if triggers and controllers:
        presence |= UPLOAD_TRIGGERS
        chunks.append(bytes(quantize_trigger(triggers.get(p, 0.0)) for p in controllers))
    return UPLOAD_HEADER.pack(KIND_POSE_UPLOAD, presence, seq & 0xFFFF, ack & 0xFFFFFFFF) + b"".join(chunks)


@dataclass
class AvatarPose:
    """A remote avatar in metres and unit quaternions (world space)."""

    head_pos: np.ndarray
    head_rot: np.ndarray
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name -> (pos, rot)
    body_rots: np.ndarray | None = None  # (22, 4) local rotations when a body is present
    hand_codes: dict[str, np.ndarray] = field(default_factory=dict)  # 20 angle codes + scale code per hand

    def hand_joints(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The 25 WebXR joint poses (positions (25,3), rotations (25,4)) of "left_hand" or "right_hand"."""
        from server.realtime import hand_model

        wrist_pos, wrist_rot = self.parts[name]
        codes = self.hand_codes[name]
        params = hand_model.HandParams(
            wrist_pos[None], wrist_rot[None], hand_model.dequantize_angles(codes[None, :20]),
            hand_model.dequantize_scale(codes[20:21]),
        )
        pos, rot = hand_model.joints_from_hand_params(params, np.array([0 if name == "left_hand" else 1]))
        return pos[0], rot[0]


def dequantize_avatar(state: AvatarState) -> AvatarPose:
    c = np.asarray(state.components, dtype=np.int64)
    head_pos = dequantize_positions_mm(c[0:3])
    pose = AvatarPose(head_pos, dequantize_quats(c[3:7]))
    for part in range(1, N_PARTS):
        if not state.presence >> part & 1:
            continue
        o = PART_OFFSETS[part]
        rel = dequantize_positions_mm(c[o : o + 3])
        if part == 5:
            pose.parts["body"] = (head_pos + rel, dequantize_quats(c[o + 3 : o + 7]))
            pose.body_rots = dequantize_quats(c[o + 3 : o + 3 + 4 * N_BODY_JOINTS].reshape(-1, 4))
        else:
            pose.parts[PART_NAMES[part]] = (head_pos + rel, dequantize_quats(c[o + 3 : o + 7]))
            if part in (3, 4):
                pose.hand_codes[PART_NAMES[part]] = c[o + 7 : o + 28].copy()
    return pose


def snapshot_tick(frame: bytes) -> int:
    """The tick of a snapshot frame without decoding it (enough to acknowledge it)."""
    return FRAME_HEADER.unpack_from(frame)[2]


class ClientSession:
    """Protocol state of one client: feed it every binary frame received; it keeps the delta baselines."""

    def __init__(self, decode: bool = True) -> None:
        self.decode = decode
        self.welcome: dict[str, Any] | None = None
        self.roster: dict[int, dict] = {}
        self.last_tick = 0
        self.history: dict[int, dict[int, AvatarState]] = {}
        self.latest: dict[int, tuple[int, AvatarState]] = {}
        self.errors: list[dict] = []
        self.snapshots = 0

    @property
    def avatar_id(self) -> int | None:
        return self.welcome["avatar"] if self.welcome else None

    def receive(self, data: bytes) -> tuple[str, Any]:
        if data[:1] == bytes([KIND_SNAPSHOT]):
            self.snapshots += 1
            if not self.decode:
                self.last_tick = max(self.last_tick, snapshot_tick(data))
                return "snapshot", None
            snap = decode_frame(data, self._baseline)
            self._remember(snap)
            return "snapshot", snap
        message = msgpack.unpackb(data, raw=False)
        self._control(message)
        return "control", message

    def _baseline(self, avatar_id: int, tick: int) -> AvatarState | None:
        return self.history.get(avatar_id, {}).get(tick)

    def _remember(self, snap: Snapshot) -> None:
        self.last_tick = max(self.last_tick, snap.tick)
        oldest = snap.tick - HISTORY_TICKS
        for avatar_id, state in snap.avatars.items():
            ticks = self.history.setdefault(avatar_id, {})
            ticks[snap.tick] = state
            if len(ticks) > 8:
                for t in [t for t in ticks if t < oldest]:
                    del ticks[t]
            self.latest[avatar_id] = (snap.tick, state)

    def _control(self, message: dict) -> None:
        kind = message.get("t")
        if kind == "welcome":
            self.welcome = message
            self.roster = {a["id"]: a for a in message.get("roster", [])}
        elif kind == "joined":
            self.roster[message["avatar"]["id"]] = message["avatar"]
        elif kind == "left":
            gone = message["avatar"]
            self.roster.pop(gone, None)
            self.history.pop(gone, None)
            self.latest.pop(gone, None)
        elif kind == "error":
            self.errors.append(message)

    def pose_of(self, avatar_id: int) -> AvatarPose | None:
        entry = self.latest.get(avatar_id)
        return dequantize_avatar(entry[1]) if entry else None


class _WebSocketTransport(asyncio.Protocol):
    """A websocket client on websockets' sans-I/O protocol: no reader task, no per-message futures."""

    def __init__(self, url: str, origin: str | None, on_binary: Callable[[bytes], None],
                 on_control_text: Callable[[str], None] | None = None) -> None:
        self.protocol = ClientProtocol(parse_uri(url), origin=origin, max_size=4 * 2**20)
        self.on_binary = on_binary
        self.on_control_text = on_control_text
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future = asyncio.get_running_loop().create_future()
        self.bytes_in = 0
        self._buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        if not self.opened.done():
            self._feed_protocol(data)
            return
        # Once open, data frames are cut out here (a few microseconds each: thousands of bots share one
        # core); control frames (ping, close) and anything unusual go to the websockets protocol.
        buf = self._buffer
        buf += data
        at, end = 0, len(buf)
        while end - at >= 2:
            b0, b1 = buf[at], buf[at + 1]
            length, header = b1 & 0x7F, 2
            if length == 126:
                if end - at < 4:
                    break
                length, header = int.from_bytes(buf[at + 2 : at + 4], "big"), 4
            elif length == 127:
                if end - at < 10:
                    break
                length, header = int.from_bytes(buf[at + 2 : at + 10], "big"), 10
            if end - at < header + length:
                break
            if b0 == 0x82 and not b1 & 0x80:  # final, unmasked binary frame
                self.on_binary(bytes(buf[at + header : at + header + length]))
            else:
                self._feed_protocol(bytes(buf[at : at + header + length]))
            at += header + length
        del buf[:at]

    def _feed_protocol(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if self.protocol.handshake_exc is not None:
                    if not self.opened.done():
                        self.opened.set_exception(self.protocol.handshake_exc)
                elif not self.opened.done():
                    self.opened.set_result(True)
            elif event.opcode is Opcode.BINARY:
                self.on_binary(event.data)
            elif event.opcode is Opcode.TEXT and self.on_control_text:
                self.on_control_text(event.data.decode())
        self._flush()
        if self.protocol.close_expected() and self.transport is not None:
            self.transport.close()

    def _flush(self) -> None:
        data = self.protocol.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(data))

    def send(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("websocket is closed")
        self.protocol.send_binary(data)
        self._flush()

    def close(self, code: int = 1000, reason: str = "") -> None:
        try:
            self.protocol.send_close(code, reason)
            self._flush()
        except Exception:
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.protocol.receive_eof()
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("connection closed during the handshake"))
        if not self.closed.done():
            rcvd = self.protocol.close_rcvd
            self.closed.set_result((rcvd.code, rcvd.reason) if rcvd else (1006, "connection lost"))

    @property
    def close_code(self) -> int | None:
        rcvd = self.protocol.close_rcvd
        return rcvd.code if rcvd else None


def http_json(method: str, url: str, body: dict | None = None, timeout: float = 10.0,
              operator_token: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """Small blocking JSON-over-HTTP helper (run it in a thread from async code). `operator_token` lifts
    the per-address limits (a load test holds many seats from one address)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **(headers or {})}
    if operator_token:
        headers["Authorization"] = f"Bearer {operator_token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


class PlazaClient:
    """An avatar in a room: `await PlazaClient.join(...)`, then `send_pose`, `request`, `next_event`."""

    def __init__(self, base_url: str, session: ClientSession) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.ws: _WebSocketTransport | None = None
        self.events: asyncio.Queue = asyncio.Queue()
        self._pending_get: asyncio.Future | None = None  # see next_event
        self.queue_events = True
        self.seq = 0
        self.auto_ack = True  # acknowledge snapshots with `ack` messages while no pose uploads carry acks
        self._last_ack_at = -1e9
        self._request_id = 0
        self.room: str | None = None

    @classmethod
    async def join(cls, base_url: str, room: str = "main", name: str = "shopper", invite_code: str | None = None,
                   decode: bool = True, origin: str | None = None, queue_events: bool = True,
                   operator_token: str | None = None, shopper_key: str | None = None) -> PlazaClient:
        """Reserve a seat and connect; `shopper_key` links the seat to a shopper (their group, their checkout)."""
        client = cls(base_url, ClientSession(decode))
        client.queue_events = queue_events
        body = {"name": name, **({"invite_code": invite_code} if invite_code else {})}
        status, reply = await asyncio.to_thread(http_json, "POST", f"{client.base_url}/api/rooms/{room}/join", body,
                                                operator_token=operator_token,
                                                headers={"X-Shopper-Key": shopper_key} if shopper_key else None)
        if status != 200:
            raise ConnectionError(f"join refused ({status}): {reply}")
        client.room = room
        await client.connect(reply["ws_url"], token=reply["token"], origin=origin)
        return client

    async def connect(self, ws_path: str, token: str | None = None, origin: str | None = None,
                      wait_welcome: bool = True) -> None:
        """Open the websocket at `ws_path` and, with a token, authenticate with the first message."""
        # A relative path is on this server; many nodes answer with the owning node's absolute URL.
        base = ws_path if "://" in ws_path else self.base_url + ws_path
        url = base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        self.ws_path = ws_path
        uri = parse_uri(url)
        loop = asyncio.get_running_loop()
        _, self.ws = await loop.create_connection(
            lambda: _WebSocketTransport(url, origin, self._on_binary), uri.host, uri.port
        )
        await self.ws.opened
        if token is not None:
            self.ws.send(msgpack.packb({"t": "auth", "token": token}))
        if wait_welcome:
            while self.session.welcome is None:
                kind, message = await asyncio.wait_for(self.next_event(), 10)
                if kind == "closed":
                    raise ConnectionError(f"closed before welcome: {message}")

    async def resume(self) -> None:
        """Reconnect with the resume token after a drop (same seat, same avatar)."""
        token = self.session.welcome["resume"]
        self.session.welcome = None
        await self.connect(getattr(self, "ws_path", None) or f"/ws?v={PROTOCOL_VERSION}&room={self.room}",
                           token=token)

    def _on_binary(self, data: bytes) -> None:
        try:
            kind, value = self.session.receive(data)
        except (SnapshotError, ValueError, msgpack.UnpackException) as exc:
            kind, value = "decode_error", exc
        if kind == "snapshot" and self.auto_ack:
            self._ack_if_quiet()
        if self.queue_events or kind != "snapshot":
            self.events.put_nowait((kind, value))

    async def next_event(self) -> tuple[str, Any]:
        # The queue read outlives a caller that gives up waiting (asyncio.wait_for cancels us, not it): the next
        # call takes it over, so the event it receives is returned then instead of being lost with it.
        if self._pending_get is None:
            self._pending_get = asyncio.ensure_future(self.events.get())
        get = self._pending_get
        closed = self.ws.closed if self.ws else None
        done, _ = await asyncio.wait([get, closed] if closed else [get], return_when=asyncio.FIRST_COMPLETED)
        if get in done:
            self._pending_get = None
            return get.result()
        return "closed", closed.result()

    async def next_snapshot(self, timeout: float = 5.0) -> Snapshot:
        async def wait() -> Snapshot:
            while True:
                kind, value = await self.next_event()
                if kind == "snapshot":
                    return value
                if kind == "closed":
                    raise ConnectionError(f"connection closed: {value}")
        return await asyncio.wait_for(wait(), timeout)

    def _ack_if_quiet(self) -> None:
        """PROTOCOL.md section 10: acknowledge at least every ACK_EVERY_S, with uploads or `ack` messages."""
        now = time.monotonic()
        if now - self._last_ack_at >= ACK_EVERY_S and self.ws is not None and self.session.last_tick:
            self._last_ack_at = now
            with contextlib.suppress(ConnectionError):
                self.ws.send(msgpack.packb({"t": "ack", "tick": self.session.last_tick}))

    def send_pose(self, parts: dict[int, np.ndarray], triggers: dict[int, float] | None = None) -> None:
        self.seq += 1
        self.ws.send(encode_pose_upload(self.seq, self.session.last_tick, parts, triggers))
        self._last_ack_at = time.monotonic()

    def send_pose_payload(self, presence: int, payload: bytes) -> None:
        """Send a pose whose float payload was built in bulk (`upload_rows`)."""
        self.seq += 1
        self.ws.send(upload_header(presence, self.seq, self.session.last_tick) + payload)
        self._last_ack_at = time.monotonic()

    def send_raw(self, data: bytes) -> None:
        self.ws.send(data)

    def send_control(self, message: dict[str, Any]) -> int:
        self._request_id += 1
        message = {**message, "id": self._request_id}
        self.ws.send(msgpack.packb(message))
        return self._request_id

    async def request(self, message: dict[str, Any], timeout: float = 5.0) -> dict:
        """Send a control message and wait for the reply that echoes its id."""
        request_id = self.send_control(message)

        async def wait() -> dict:
            while True:
                kind, value = await self.next_event()
                if kind == "control" and value.get("id") == request_id:
                    return value
                if kind == "closed":
                    raise ConnectionError(f"connection closed: {value}")
        return await asyncio.wait_for(wait(), timeout)

    async def close(self) -> None:
        if self._pending_get is not None:
            self._pending_get.cancel()
            self._pending_get = None
        if self.ws is not None and not self.ws.closed.done():
            self.ws.close()
            try:
                await asyncio.wait_for(asyncio.shield(self.ws.closed), 2)
            except TimeoutError:
                if self.ws.transport:
                    self.ws.transport.close()

    def drop(self) -> None:
        """Cut the TCP connection without a closing handshake (a network drop)."""
        if self.ws is not None and self.ws.transport is not None:
            self.ws.transport.abort()
