"""One connected client's view of the snapshot stream: what it was sent, what it acknowledged, and so which
delta baselines its next frame may use. Sans-I/O; owned by the client's session, read by the frame planner
(server/realtime/snapshots.py). A reconnect starts a new one: a new transport shares no baselines."""

from __future__ import annotations

from collections import deque

import numpy as np

HISTORY = 64  # ticks of past room states kept for delta baselines (codec.MAX_BASELINE_AGE < HISTORY)


class ClientSync:
    __slots__ = (
        "acked_tick",
        "avatar_id",
        "client_pinned",
        "delivered",
        "group_pinned",
        "inflight",
        "pinned",
        "settled_tick",
        "settled_view",
        "slot",
    )

    def __init__(self, avatar_id: int, slot: int) -> None:
        self.avatar_id, self.slot = avatar_id, slot
        self.inflight: deque[tuple[int, np.ndarray, np.ndarray]] = deque()  # (tick, near, far) of frames sent
        # delivered[t % HISTORY] == t: the frame of tick t is known to have arrived (recent ticks only)
        self.delivered = [0] * HISTORY  # a list: read and written one tick at a time
        self.acked_tick = 0
        self.pinned: frozenset[int] = frozenset()  # the client's own pins plus its shopping group's members
        self.client_pinned: frozenset[int] = frozenset()
        self.group_pinned: frozenset[int] = frozenset()
        self.settled_view: np.ndarray | None = None  # view of the newest frame known to have arrived
        self.settled_tick = 0

    def ack(self, tick: int, room_tick: int) -> None:
        if self.acked_tick < tick <= room_tick:
            self.acked_tick = tick

    def pin(self, avatar_ids: list[int]) -> None:
        """Avatars this client asked to always receive at the full rate (its companions)."""
        self.client_pinned = frozenset(int(i) for i in avatar_ids)
        self.pinned = self.client_pinned | self.group_pinned

    def pin_group(self, avatar_ids: set[int]) -> None:
        """The avatars of this client's shopping group in its room: always at the full rate (server/social)."""
        self.group_pinned = frozenset(int(i) for i in avatar_ids if i != self.avatar_id)
        self.pinned = self.client_pinned | self.group_pinned

    def settle(self) -> None:
        """Frames up to the acked tick reached the client: their avatars become delta baselines."""
        inflight = self.inflight
        acked = self.acked_tick
        while inflight and inflight[0][0] <= acked:
            entry = inflight.popleft()
            tick = entry[0]
            self.settled_view, self.settled_tick = entry[1], tick
            self.delivered[tick % HISTORY] = tick
        while len(inflight) > HISTORY:  # a client that never acks gets absolute frames, not unbounded memory
            inflight.popleft()

    def dropped(self, tick: int) -> None:
        """The transport discarded this frame unsent (newest wins): never use it as a baseline."""
        for i, entry in enumerate(self.inflight):
            if entry[0] == tick:
                del self.inflight[i]
                break
