"""Planning and cutting every client's snapshot frame for one tick. Sans-I/O.

The room (server/realtime/room.py) keeps the world: states, presence and their history. Each client's
`ClientSync` keeps what it was sent and acknowledged. The planner groups clients by what they see (interest),
chooses each one's delta baselines, encodes each baseline once for just the avatars that use it, then cuts the
frames; clients with the same plan share the same bytes object (so the transport frames it once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from server.realtime import codec
from server.realtime.interest import Interest
from server.realtime.sync import HISTORY, ClientSync

if TYPE_CHECKING:
    from server.realtime.room import Room


class SnapshotPlanner:
    """One per room: its interest grouping, kept between ticks (unchanged views stay the same objects)."""

    def __init__(self) -> None:
        self.interest = Interest()

    def frames(self, room: Room, clients: list[ClientSync], t: int, server_time_ms: int
               ) -> list[tuple[ClientSync, bytes]]:
        if not clients:
            return []
        slots = room.visible_slots()
        allocated = room.allocated
        oldest_base = t - codec.MAX_BASELINE_AGE
        plan_ids: dict[tuple, int] = {}  # frame key -> index in plans
        plans: list[list[tuple[int, np.ndarray]]] = []  # sections (baseline, slots) of each distinct frame
        needed: dict[int, np.ndarray] = {}  # baseline -> which slots some frame needs encoded against it
        assigned: list[tuple[ClientSync, int]] = []
        far_base = t - room.interest.far_period
        far_slot = far_base % HISTORY
        far_sections: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = {}
        slot_joined = room.slot_joined

        def plan(client: ClientSync, group, key: tuple, sections: list[tuple[int, np.ndarray]]) -> None:
            if len(group.far):  # the far section: one baseline for everyone who received tick t - far_period
                base = far_base if client.delivered[far_slot] == far_base else 0
                key = (key, id(group.far), base)
                far = far_sections.get((id(group.far), base))
                if far is None:
                    far = far_sections[(id(group.far), base)] = _far_sections(slot_joined, group.far, base)
                sections = sections + far
            index = plan_ids.get(key)
            if index is None:
                index = plan_ids[key] = len(plans)
                plans.append(sections)
                for b, part in sections:
                    mask = needed.get(b)
                    if mask is None:
                        mask = needed[b] = np.zeros(allocated, dtype=bool)
                    mask[part] = True
            assigned.append((client, index))
            client.inflight.append((t, group.near, group.far))

        for group in self.interest.groups(room, t, slots, clients, room.interest):
            view = group.near
            newest_join = int(slot_joined[view].max())
            oldest = max(oldest_base, newest_join)
            batch = []
            if len(group.far):
                for client in group.members:
                    client.settle()
                    settled = client.settled_tick
                    if client.settled_view is view and settled >= oldest:
                        # steady state: the last frame that arrived had exactly this view: it is the baseline
                        plan(client, group, (settled, id(view)), [(settled, view)])
                    else:
                        batch.append(client)
            else:  # the same, with plan() inlined: this loop runs once per client per tick
                entry = (t, view, group.far)
                for client in group.members:
                    client.settle()
                    settled = client.settled_tick
                    if client.settled_view is view and settled >= oldest:
                        key = (settled, id(view))
                        index = plan_ids.get(key)
                        if index is None:
                            plan(client, group, key, [(settled, view)])
                        else:
                            assigned.append((client, index))
                            client.inflight.append(entry)
                    else:
                        batch.append(client)
            if batch:
                _plan_batch(slot_joined, allocated, group, batch, oldest_base, plan)

        blocks: dict[int, tuple[codec.EncodedBlocks, np.ndarray, int]] = {}
        for b, mask in needed.items():
            sub = slots[mask[slots]]
            enc = room.encode(sub, b)
            row_of_slot = np.full(allocated, -1, dtype=np.intp)
            row_of_slot[sub] = np.arange(len(sub))
            blocks[b] = (enc, row_of_slot, len(sub))

        data: list[bytes] = []
        for sections in plans:
            parts = []
            for b, part in sections:
                if len(part) == 0:
                    continue
                enc, row_of_slot, encoded = blocks[b]
                cut = enc.all_bytes() if len(part) == encoded else enc.take(row_of_slot[part])
                parts.append((t - b if b else 0, len(part), cut))
            data.append(codec.frame(t, server_time_ms, parts))
        return [(client, data[index]) for client, index in assigned]


def _far_sections(slot_joined: np.ndarray, far: np.ndarray, base: int) -> list[tuple[int, np.ndarray]]:
    if base == 0:
        return [(0, far)]
    joined_later = slot_joined[far] > base  # no state at the baseline tick: absolute
    if not joined_later.any():
        return [(base, far)]
    return [(base, far[~joined_later]), (0, far[joined_later])]


def _plan_batch(slot_joined: np.ndarray, allocated: int, group, members: list[ClientSync], oldest_base: int,
                plan) -> None:
    """Clients sharing a near view whose baselines differ per avatar (after joins, drops and view changes):
    one matrix lookup for all of them; identical baseline rows share a plan."""
    view = group.near
    base = np.stack([client.known(allocated)[view] for client in members])
    base = np.where((base >= oldest_base) & (base >= slot_joined[view]), base, 0)
    made: dict[bytes, tuple[tuple, list[tuple[int, np.ndarray]]]] = {}
    for client, row in zip(members, base, strict=True):
        row_key = row.tobytes()
        entry = made.get(row_key)
        if entry is None:
            lo, hi = row.min(), row.max()
            if lo == hi:
                sections = [(int(lo), view)]
            else:
                values, which = np.unique(row, return_inverse=True)
                sections = [(int(b), view[which == i]) for i, b in enumerate(values)]
            entry = made[row_key] = ((id(view), row_key), sections)
        plan(client, group, *entry)
