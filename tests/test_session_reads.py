"""How a session reads its socket: whole pose upload frames take a short path, everything else the frame splitter
and the websocket library. However the same bytes are cut into reads, the session does the same with them."""

from __future__ import annotations

import base64
import os
import time

import msgpack
import numpy as np
import pytest

from server.config import Settings
from server.metrics import Metrics
from server.net.bench_transport import FakeTransport, deliver
from server.net.hub import Hub
from server.net.session import Session, SessionState
from server.realtime.pose import UPLOAD_HEADER


def masked(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    key = os.urandom(4)
    n = len(payload)
    head = bytes(((0x80 if fin else 0) | opcode, 0x80 | n)) if n < 126 else (
        bytes(((0x80 if fin else 0) | opcode, 0x80 | 126)) + n.to_bytes(2, "big"))
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def upload(seq: int, ack: int, x: float) -> bytes:
    values = np.array([x, 1.6, 0.0, 0, 0, 0, 1.0], dtype="<f4")
    return UPLOAD_HEADER.pack(1, 1, seq, ack) + values.tobytes()


def open_session() -> tuple[Hub, Session, FakeTransport]:
    hub = Hub(Settings(), Metrics())
    info = hub.registry.create("reads", "boutique", 0.0, capacity=4)
    _, _avatar, token = hub.registry.reserve(info.room.id, "reader", 0.0, time.time(), exempt=True)
    transport = FakeTransport()
    session = Session(hub, "127.0.0.1")
    session.connection_made(transport)
    key = base64.b64encode(os.urandom(16)).decode()
    deliver(session, (f"GET /ws?v=2&room={info.room.id} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    deliver(session, masked(0x2, msgpack.packb({"t": "auth", "token": token})))
    assert session.state is SessionState.OPEN
    return hub, session, transport


def stream() -> list[bytes]:
    """Frames of a busy client: uploads, a websocket ping, a control message, a fragmented message, a short
    malformed upload, and more uploads."""
    frames = [masked(0x2, upload(i, 0, 0.01 * i)) for i in range(1, 4)]
    frames.append(masked(0x9, b"hi"))
    frames.append(masked(0x2, msgpack.packb({"t": "ping", "id": 7})))
    frames += [masked(0x2, upload(4, 0, 0.04)[:10], fin=False), masked(0x0, upload(4, 0, 0.04)[10:])]
    frames.append(masked(0x2, b"\x01\x01"))  # a pose upload shorter than its header
    frames += [masked(0x2, upload(i, 0, 0.01 * i)) for i in range(5, 8)]
    return frames


def outcome(hub: Hub, session: Session, transport: FakeTransport) -> tuple:
    room = session.room
    presence, data, _at = room._pending[session.sync.slot]
    return (session.pose_uploads, session.frames_in, session.bytes_in, presence, data, transport.frames,
            transport.bytes, dict(hub.metrics.counters))


def cuts(data: bytes, how: str, rng: np.random.Generator) -> list[bytes]:
    if how == "bytes":
        return [data[i : i + 1] for i in range(len(data))]
    points = sorted(set(rng.integers(1, len(data), 12).tolist()))
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@pytest.mark.parametrize("how", ["random", "bytes"])
async def test_the_same_bytes_do_the_same_however_they_are_cut_into_reads(how):
    frames = stream()
    hub, session, transport = open_session()
    for frame in frames:  # one frame per read: the uploads take the short path
        deliver(session, frame)
    want = outcome(hub, session, transport)
    # eight uploads counted (the fragmented one too, and the short one, which is refused); the newest is pending
    assert want[0] == 8 and want[3] == 1
    assert hub.metrics.get("plaza_message_errors_total", reason="pose_malformed") == 1
    assert want[4] == upload(7, 0, 0.07)
    for seed in range(3):
        hub, session, transport = open_session()
        for chunk in cuts(b"".join(frames), how, np.random.default_rng(seed)):
            deliver(session, chunk)
        assert outcome(hub, session, transport) == want


async def test_an_upload_after_the_close_frame_is_not_taken():
    _hub, session, transport = open_session()
    deliver(session, masked(0x2, upload(1, 0, 0.0)))
    deliver(session, masked(0x8, (1000).to_bytes(2, "big") + b"bye"))
    sent = transport.frames
    deliver(session, masked(0x2, upload(2, 0, 0.5)))
    assert session.pose_uploads == 1
    assert session.room._pending[session.sync.slot][1] == upload(1, 0, 0.0)
    session.send({"t": "pong"})  # nothing more of ours goes out once the client closed
    assert transport.frames == sent
