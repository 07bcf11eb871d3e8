"""Interest management: which avatars each client receives this tick.

Small rooms are all-to-all. Larger rooms group clients by floor cell: every client in a cell shares a
near view (the nearest avatars, at the full rate), stable from tick to tick while the crowd around it
stays, so its snapshot is encoded once and delta-coded against the client's last acknowledged frame.
Everyone else comes at a twelfth of the rate on a room-wide phase: on tick t the avatars with
(t + slot) % far_period == 0, delta-coded against tick t - far_period, when every client received them
too, so that part is encoded once for the whole room. Pinned companions always come at the full rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from server.realtime.room import Room
    from server.realtime.sync import ClientSync

EMPTY = np.zeros(0, dtype=np.intp)


@dataclass(frozen=True)
class InterestConfig:
    all_to_all_limit: int = 250  # rooms with at most this many visible avatars send everyone every tick
    cell_m: float = 4.0
    near_m: float = 10.0
    near_max: int = 50  # at most this many avatars at the full rate (the nearest)
    far_period: int = 12  # everyone else: every 12th tick, 5 Hz


@dataclass
class InterestGroup:
    near: np.ndarray  # sorted slots sent every tick (the same object across ticks while unchanged)
    far: np.ndarray  # sorted slots due this tick on the room-wide far phase, none of them in `near`
    members: list[ClientSync] = field(default_factory=list)


class ViewCache:
    """Hands out the same array object for the same set of slots as on the previous tick, so a client
    can recognise that its view did not change (its last frame is then the baseline for all of it)."""

    def __init__(self) -> None:
        self._previous: dict[bytes, np.ndarray] = {}
        self._current: dict[bytes, np.ndarray] = {}

    def next_tick(self) -> None:
        self._previous, self._current = self._current, {}

    def stable(self, view: np.ndarray) -> np.ndarray:
        key = view.tobytes()
        found = self._current.get(key)
        if found is None:
            found = self._previous.get(key, view)
            self._current[key] = found
        return found


def interest_groups(room: Room, tick: int, slots: np.ndarray, clients: list[ClientSync], cfg: InterestConfig,
                    views: ViewCache) -> list[InterestGroup]:
    views.next_tick()
    if len(slots) <= cfg.all_to_all_limit:
        return [InterestGroup(views.stable(slots), EMPTY, clients)]
    xz = room.head_pos[slots][:, [0, 2]]
    cell_of = np.floor(room.head_pos[[a.slot for a in clients]][:, [0, 2]] / cfg.cell_m).astype(np.int64)
    far_due = slots[(tick + slots) % cfg.far_period == 0]
    by_cell: dict[tuple[int, int], tuple[InterestGroup, np.ndarray]] = {}
    alone: list[InterestGroup] = []
    half_diag = cfg.cell_m * 0.7072
    for avatar, cell in zip(clients, map(tuple, cell_of), strict=True):
        entry = by_cell.get(cell)
        if entry is None:
            center = (np.array(cell, dtype=np.float64) + 0.5) * cfg.cell_m
            dist = np.hypot(xz[:, 0] - center[0], xz[:, 1] - center[1])
            near = dist <= cfg.near_m + half_diag
            if near.sum() > cfg.near_max:
                near = np.zeros(len(slots), dtype=bool)
                near[np.argpartition(dist, cfg.near_max)[: cfg.near_max]] = True
            in_near = np.zeros(room.allocated, dtype=bool)
            in_near[slots[near]] = True
            group = InterestGroup(views.stable(slots[near]), far_due[~in_near[far_due]])
            entry = by_cell[cell] = (group, in_near)
        group, in_near = entry
        # the client itself and its pinned companions always come along, at the full rate
        extra = [avatar.slot] if not in_near[avatar.slot] else []
        for pinned_id in avatar.pinned:
            other = room.avatars.get(pinned_id)
            if other is not None and other.visible and not in_near[other.slot]:
                extra.append(other.slot)
        if extra:
            near = views.stable(np.union1d(group.near, np.array(extra, dtype=np.intp)))
            alone.append(InterestGroup(near, np.setdiff1d(group.far, near, assume_unique=True), [avatar]))
        else:
            group.members.append(avatar)
    return [group for group, _ in by_cell.values() if group.members] + alone
