"""Interest management: which avatars each client receives this tick.

Small rooms are all-to-all. Larger rooms group clients by floor cell: every client in a cell shares one
view (so its snapshot is encoded once), made of the nearest avatars at the full rate, a middle ring at
a third of it and everyone else at a twelfth; a client's pinned companions always come at the full rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from server.realtime.room import Avatar, Room


@dataclass(frozen=True)
class InterestConfig:
    all_to_all_limit: int = 250  # rooms with at most this many visible avatars send everyone every tick
    cell_m: float = 4.0
    near_m: float = 8.0
    near_max: int = 50  # at most this many avatars at the full rate (the nearest)
    mid_m: float = 20.0
    mid_period: int = 3  # 20 Hz
    far_period: int = 12  # 5 Hz


def interest_sets(room: Room, tick: int, slots: np.ndarray, clients: list[Avatar], cfg: InterestConfig
                  ) -> dict[int, np.ndarray]:
    """Slots (sorted) that each client receives this tick, keyed by avatar id."""
    if len(slots) <= cfg.all_to_all_limit:
        return {a.id: slots for a in clients}
    xz = room.head_pos[slots][:, [0, 2]]
    cell_of = np.floor(room.head_pos[[a.slot for a in clients]][:, [0, 2]] / cfg.cell_m).astype(np.int64)
    phase = (tick + slots) % cfg.far_period
    far_due = phase == 0
    mid_due = (tick + slots) % cfg.mid_period == 0
    by_cell: dict[tuple[int, int], np.ndarray] = {}
    views: dict[int, np.ndarray] = {}
    half_diag = cfg.cell_m * 0.7072
    for avatar, cell in zip(clients, map(tuple, cell_of), strict=True):
        view = by_cell.get(cell)
        if view is None:
            center = (np.array(cell, dtype=np.float64) + 0.5) * cfg.cell_m
            dist = np.hypot(xz[:, 0] - center[0], xz[:, 1] - center[1])
            near = dist <= cfg.near_m + half_diag
            if near.sum() > cfg.near_max:
                nearest = np.argpartition(dist, cfg.near_max)[: cfg.near_max]
                near = np.zeros(len(slots), dtype=bool)
                near[nearest] = True
            mid = (dist <= cfg.mid_m) & ~near
            view = slots[near | (mid & mid_due) | (~near & ~mid & far_due)]
            by_cell[cell] = view
        extra = [avatar.slot]
        for pinned_id in avatar.pinned:
            other = room.avatars.get(pinned_id)
            if other is not None and other.visible:
                extra.append(other.slot)
        missing = np.setdiff1d(np.array(extra, dtype=np.intp), view, assume_unique=False)
        views[avatar.id] = np.union1d(view, missing) if len(missing) else view
    return views
