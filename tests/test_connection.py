"""Backpressure: a connection whose transport stops accepting writes gets newest-wins, then a 4008 close."""

import asyncio

import msgpack

from server.net.close_codes import TOO_SLOW
from server.net.connection import Connection


class FakeTransport:
    """An ASGI `send` that blocks while the 'socket' is not writable, like uvicorn's flow control."""

    def __init__(self) -> None:
        self.writable = asyncio.Event()
        self.writable.set()
        self.sent: list[dict] = []

    async def send(self, message: dict) -> None:
        await self.writable.wait()
        self.sent.append(message)


def frames(transport: FakeTransport) -> list[bytes]:
    return [m["bytes"] for m in transport.sent if m["type"] == "websocket.send"]


async def test_writes_immediately_when_writable_and_keeps_control_messages_in_order():
    t = FakeTransport()
    dropped: list[int] = []
    conn = Connection(t.send, "r", 1, dropped.append, lambda n: None, now=0.0)
    conn.send_control({"t": "welcome"})
    conn.offer_snapshot(1, b"\x02one", 0.0)
    conn.send_control({"t": "joined"})
    got = [msgpack.unpackb(f) if f[0] != 2 else f for f in frames(t)]
    assert got == [{"t": "welcome"}, b"\x02one", {"t": "joined"}]
    assert dropped == [] and not conn.busy


async def test_newest_snapshot_wins_while_blocked_and_control_messages_are_never_dropped():
    t = FakeTransport()
    dropped: list[int] = []
    conn = Connection(t.send, "r", 1, dropped.append, lambda n: None, now=0.0)
    t.writable.clear()
    conn.offer_snapshot(1, b"\x02f1", 0.0)  # stuck in the transport
    for tick in range(2, 6):
        conn.offer_snapshot(tick, b"\x02f%d" % tick, tick / 60)
    conn.send_control({"t": "chat"})
    assert dropped == [2, 3, 4]  # replaced unsent, reported so they never become delta baselines
    t.writable.set()
    await asyncio.sleep(0.01)
    assert frames(t)[0] == b"\x02f1" and msgpack.unpackb(frames(t)[1]) == {"t": "chat"} and frames(t)[2] == b"\x02f5"
    assert not conn.busy and conn.behind_since is None


async def test_a_client_that_stays_behind_is_closed_with_4008_and_the_tick_never_waits():
    t = FakeTransport()
    conn = Connection(t.send, "r", 1, lambda tick: None, lambda n: None, now=0.0, max_behind_s=0.5)
    t.writable.clear()
    for tick in range(1, 60):  # one second of ticks: offer_snapshot returns at once every time
        conn.offer_snapshot(tick, b"\x02x", tick / 60)
    assert conn.close_requested == (TOO_SLOW, "client stayed more than 0.5 s behind the snapshots")
    t.writable.set()
    await asyncio.sleep(0.01)
    assert t.sent[-1] == {"type": "websocket.close", "code": TOO_SLOW, "reason": conn.close_requested[1]}


class FakeRawProtocol:
    """The fast path of server.net.serve.PlazaWebSocketProtocol: prebuilt frames, written when writable."""

    def __init__(self) -> None:
        self.writable = True
        self.written: list[bytes] = []

    def write_frame(self, frame: bytes) -> bool:
        if not self.writable:
            return False
        self.written.append(frame)
        return True


async def test_prebuilt_frames_go_straight_to_the_socket_and_wait_newest_wins_when_it_is_full():
    from server.net.connection import binary_frame

    t, raw = FakeTransport(), FakeRawProtocol()
    dropped: list[int] = []
    conn = Connection(t.send, "r", 1, dropped.append, lambda n: None, now=0.0, raw=raw)
    conn.offer_snapshot(1, b"\x02a", 0.0, binary_frame(b"\x02a"))
    assert raw.written == [b"\x82\x02\x02a"] and t.sent == []
    raw.writable = False
    conn.offer_snapshot(2, b"\x02b", 0.1, binary_frame(b"\x02b"))
    conn.offer_snapshot(3, b"\x02c", 0.2, binary_frame(b"\x02c"))
    assert dropped == [2] and len(raw.written) == 1
    raw.writable = True
    conn.pump()  # what the protocol's resume_writing triggers
    assert raw.written[-1] == b"\x82\x02\x02c" and conn.snapshot is None


def test_binary_frame_headers_follow_rfc_6455_lengths():
    from server.net.connection import binary_frame

    assert binary_frame(b"x" * 125)[:2] == b"\x82\x7d"
    assert binary_frame(b"x" * 126)[:4] == b"\x82\x7e\x00\x7e"
    assert binary_frame(b"x" * 70000)[:10] == b"\x82\x7f" + (70000).to_bytes(8, "big")


async def test_a_client_whose_acks_stop_is_closed_after_max_behind_whatever_the_buffers_take():
    """Frames are all written (a big kernel buffer takes them), but the client acknowledges none after tick 10:
    judged by what it acknowledged, it is closed once the oldest unacknowledged frame is 2 s old."""
    t = FakeTransport()
    conn = Connection(t.send, "r", 1, lambda tick: None, lambda n: None, now=0.0)
    closed_at = None
    for tick in range(1, 400):
        conn.offer_snapshot(tick, b"\x02x", tick / 60, acked_tick=min(tick - 1, 10))
        await asyncio.sleep(0)
        if conn.close_requested and closed_at is None:
            closed_at = tick
    assert conn.close_requested[0] == TOO_SLOW and "acknowledged nothing" in conn.close_requested[1]
    assert closed_at == 10 + 1 + 120 + 1  # tick 11 was the first unacknowledged frame; 2 s of ticks later


async def test_a_client_that_keeps_acking_is_never_closed():
    t = FakeTransport()
    conn = Connection(t.send, "r", 1, lambda tick: None, lambda n: None, now=0.0)
    for tick in range(1, 600):
        conn.offer_snapshot(tick, b"\x02x", tick / 60, acked_tick=max(0, tick - 6))  # 100 ms behind
        await asyncio.sleep(0)
    assert conn.close_requested is None
