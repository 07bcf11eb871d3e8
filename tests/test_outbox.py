"""Backpressure: a client whose transport stops taking writes gets newest-wins, then a 4008 close."""

from __future__ import annotations

from server.net.close_codes import TOO_SLOW
from server.net.outbox import MAX_CONTROL_QUEUE, Outbox


class Socket:
    """A transport that says when it is full, as asyncio's flow control does (pause_writing)."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.full = False
        self.outbox: Outbox | None = None

    def write(self, data: bytes) -> None:
        self.written.append(data)
        if self.full and self.outbox is not None:
            self.outbox.pause()


def make(max_behind_s: float = 2.0):
    sock, dropped, closed = Socket(), [], []
    box = Outbox(sock, dropped.append, lambda code, reason: closed.append(code), max_behind_s=max_behind_s)
    sock.outbox = box
    return sock, box, dropped, closed


def test_writes_at_once_when_writable_and_keeps_control_messages_in_order():
    sock, box, dropped, _ = make()
    box.send(b"welcome")
    box.offer_snapshot(1, b"snap1", 0.0)
    box.send(b"joined")
    assert sock.written == [b"welcome", b"snap1", b"joined"] and dropped == []


def test_newest_snapshot_wins_while_blocked_and_control_messages_are_never_dropped():
    sock, box, dropped, _ = make()
    sock.full = True
    box.offer_snapshot(1, b"f1", 0.0)  # written; the socket is now full
    for tick in range(2, 6):
        box.offer_snapshot(tick, b"f%d" % tick, tick / 60)
    box.send(b"chat")
    assert dropped == [2, 3, 4]  # replaced unsent: reported so they never become delta baselines
    sock.full = False
    box.resume()
    assert sock.written == [b"f1", b"f5", b"chat"] and box.behind_since is None  # in the order they were made


def test_a_client_that_stays_behind_is_closed_with_4008_and_the_tick_never_waits():
    sock, box, _, closed = make(max_behind_s=0.5)
    sock.full = True
    for tick in range(1, 60):  # one second of ticks
        box.offer_snapshot(tick, b"f", tick / 60)
    assert closed == [TOO_SLOW] and not box.open and len(sock.written) == 1


def test_a_client_that_stops_acknowledging_is_closed_even_while_its_socket_takes_writes():
    _sock, box, _, closed = make(max_behind_s=0.5)
    for tick in range(1, 120):
        box.offer_snapshot(tick, b"f", tick / 60, acked_tick=min(tick - 1, 10))
        if closed:
            break
    assert closed == [TOO_SLOW] and tick <= 10 + 0.5 * 60 + 2


def test_a_client_slightly_behind_is_kept():
    sock, box, _, closed = make(max_behind_s=0.5)
    for tick in range(7, 200):
        box.offer_snapshot(tick, b"f", tick / 60, acked_tick=tick - 6)  # 100 ms behind
    assert closed == [] and len(sock.written) == 193


def test_a_client_that_never_reads_its_control_messages_is_closed_not_grown():
    sock, box, _, closed = make()
    sock.full = True
    box.send(b"first")
    for _ in range(MAX_CONTROL_QUEUE + 1):
        box.send(b"x")
    assert closed == [TOO_SLOW] and len(box.control) == 0


def test_a_snapshot_made_before_a_control_message_is_written_before_it():
    """A `left` queued behind a waiting snapshot that still shows the avatar must come after that snapshot,
    or the client draws the departed avatar again (a ghost); a snapshot made after it goes after it."""
    sock, box, _, _ = make()
    sock.full = True
    box.offer_snapshot(1, b"f1", 0.0)  # written; the socket is now full
    box.offer_snapshot(2, b"f2-with-alice", 1 / 60)
    box.send(b"left-alice")
    sock.full = False
    box.resume()
    assert sock.written == [b"f1", b"f2-with-alice", b"left-alice"]
    sock.full = True
    box.offer_snapshot(3, b"f3", 3 / 60)  # written, full again
    box.send(b"joined-bob")
    box.offer_snapshot(4, b"f4-with-bob", 4 / 60)  # made after the control message
    sock.full = False
    box.resume()
    assert sock.written[-3:] == [b"f3", b"joined-bob", b"f4-with-bob"]
