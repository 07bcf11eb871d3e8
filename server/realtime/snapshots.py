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
        # each distinct frame: its near sections (baseline, slots) and the baseline of its far section (-1: none)
        plans: list[tuple[list[tuple[int, np.ndarray]], int]] = []
        needed: dict[int, np.ndarray] = {}  # baseline -> which slots some frame needs encoded against it
        assigned: list[tuple[ClientSync, int]] = []
        groups = self.interest.groups(room, t, slots, clients, room.interest)
        far = groups[0].far  # the room-wide far section: the same slots in every frame this tick
        has_far = len(far) > 0
        far_base = t - room.interest.far_period
        far_slot = far_base % HISTORY
        far_sections: dict[int, list[tuple[int, np.ndarray]]] = {}  # far baseline (far_base or 0) -> sections
        slot_joined = room.slot_joined

        def need(sections: list[tuple[int, np.ndarray]]) -> None:
            for b, part in sections:
                mask = needed.get(b)
                if mask is None:
                    mask = needed[b] = np.zeros(allocated, dtype=bool)
                mask[part] = True

        def plan(client: ClientSync, entry: tuple, key: tuple, sections: list[tuple[int, np.ndarray]]) -> None:
            far_of = -1
            if has_far:  # one baseline for everyone who received tick t - far_period
                far_of = far_base if client.delivered[far_slot] == far_base else 0
                if far_of not in far_sections:
                    need(far_sections.setdefault(far_of, _far_sections(slot_joined, far, far_of)))
            key = (key, far_of)
            index = plan_ids.get(key)
            if index is None:
                index = plan_ids[key] = len(plans)
                plans.append((sections, far_of))
                need(sections)
            assigned.append((client, index))
            client.inflight.append(entry)

        changes: dict[tuple, list[tuple[int, np.ndarray]]] = {}  # (settled tick, old view, view) -> sections
        for group in groups:
            view, send = group.near, group.send_near
            oldest = max(oldest_base, group.newest_join)
            entry = (t, view, far)
            for client in group.members:  # runs once per client per tick: plan()'s usual case inlined
                client.settle()
                settled = client.settled_tick
                settled_view = client.settled_view
                if settled_view is view and settled >= oldest:
                    # steady state: the last frame that arrived had exactly this view: it is the baseline
                    far_of = (far_base if client.delivered[far_slot] == far_base else 0) if has_far else -1
                    index = plan_ids.get(((settled, id(view)), far_of))
                    if index is None:
                        plan(client, entry, (settled, id(view)), [(settled, send)])
                    else:
                        assigned.append((client, index))
                        client.inflight.append(entry)
                elif settled_view is not None and settled >= oldest_base:
                    # the view changed (or someone in it joined since): what the last arrived frame carried is
                    # delta-coded against it, the rest absolute; shared by everyone making the same change
                    key = (settled, id(settled_view), id(view))
                    sections = changes.get(key)
                    if sections is None:
                        sections = changes[key] = _view_change(slot_joined, allocated, settled, settled_view, send)
                    plan(client, entry, key, sections)
                else:  # nothing usable arrived yet (a new client) or too long ago
                    plan(client, entry, (0, id(view)), [(0, send)])

        blocks: dict[int, tuple[codec.EncodedBlocks, np.ndarray, int]] = {}
        for b, mask in needed.items():
            sub = slots[mask[slots]]
            enc = room.encode(sub, b)
            row_of_slot = np.full(allocated, -1, dtype=np.intp)
            row_of_slot[sub] = np.arange(len(sub))
            blocks[b] = (enc, row_of_slot, len(sub))

        def cut(sections: list[tuple[int, np.ndarray]]) -> list[tuple[int, int, bytes]]:
            parts = []
            for b, part in sections:
                if len(part) == 0:
                    continue
                enc, row_of_slot, encoded = blocks[b]
                blob = enc.all_bytes() if len(part) == encoded else enc.take(row_of_slot[part])
                parts.append((t - b if b else 0, len(part), blob))
            return parts

        far_parts = {b: cut(sections) for b, sections in far_sections.items()}  # cut once for every frame
        data = [codec.frame(t, server_time_ms, cut(sections) + far_parts[far_of] if far_of >= 0 else cut(sections))
                for sections, far_of in plans]
        return [(client, data[index]) for client, index in assigned]


def _far_sections(slot_joined: np.ndarray, far: np.ndarray, base: int) -> list[tuple[int, np.ndarray]]:
    if base == 0:
        return [(0, far)]
    joined_later = slot_joined[far] > base  # no state at the baseline tick: absolute
    if not joined_later.any():
        return [(base, far)]
    return [(base, far[~joined_later]), (0, far[joined_later])]


def _view_change(slot_joined: np.ndarray, allocated: int, settled: int, settled_view: np.ndarray,
                 send: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Sections for a client whose last arrived frame (tick `settled`) had another view: the avatars of that
    view that are still the same avatar (no newer join in the slot) against it, the others absolute (that
    section first, as sections are ordered by baseline)."""
    carried = np.zeros(allocated, dtype=bool)
    carried[settled_view] = True
    keep = carried[send] & (slot_joined[send] <= settled)
    return [(0, send[~keep]), (settled, send[keep])]
