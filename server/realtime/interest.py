"""Interest management: which avatars each client receives this tick.

Small rooms are all-to-all. Larger rooms group clients by floor cell: every client in a cell shares a
near view (the avatars nearest the cell, at the full rate, always including the cell's own clients), so its
snapshot is encoded once and delta-coded against each client's last acknowledged frame. Everyone else comes
at a twelfth of the rate on a room-wide phase: on tick t the avatars with (t + slot) % far_period == 0,
delta-coded against tick t - far_period, when every client received them too. That far section holds every
avatar due on the tick, near ones included (they leave the near section for that tick), so it is the same
bytes for the whole room: encoded and cut once per tick, not once per cell. Pinned companions always come at
the full rate.

The grouping is recomputed every `refresh_ticks` (100 ms: nobody walks far in that time) and whenever the
clients or the visible avatars change, in a few array operations over all cells at once; between refreshes
the near views are the same array objects, which is what lets a client's last frame be its whole baseline.
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
    near_max: int = 50  # at most this many avatars at the full rate (the nearest), plus the cell's own clients
    far_period: int = 12  # everyone else: every 12th tick, 5 Hz
    refresh_ticks: int = 6  # the grouping is recomputed this often (and on every join or leave)


@dataclass
class InterestGroup:
    near: np.ndarray  # sorted slots sent every tick (the same object across ticks while unchanged)
    far: np.ndarray  # sorted slots due this tick on the room-wide far phase: the same object for every group
    members: list[ClientSync] = field(default_factory=list)
    in_near: np.ndarray | None = None  # bool per room slot: in `near`
    newest_join: int = 0  # the newest slot_joined of `near`: no older tick is a baseline for all of it
    send_near: np.ndarray | None = None  # `near` without this tick's `far` (those go in the far section)

    def __post_init__(self) -> None:
        if self.send_near is None:
            self.send_near = self.near


class ViewCache:
    """Hands out the same array object for the same set of slots as at the previous refresh, so a client
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


class Interest:
    """One room's grouping of its clients, kept between refreshes."""

    def __init__(self) -> None:
        self.views = ViewCache()
        self._groups: list[InterestGroup] = []
        self._key: tuple | None = None
        self._refreshed_at = -(10**9)
        self._far_for: np.ndarray | None = None  # the visible slots _far_by_phase was made for
        self._far_by_phase: dict[int, np.ndarray] = {}

    def _far_due(self, tick: int, slots: np.ndarray, period: int) -> np.ndarray:
        """The slots due on this tick's far phase, made once per phase while the visible slots stay the same."""
        if self._far_for is not slots:
            self._far_for, self._far_by_phase = slots, {}
        phase = tick % period
        due = self._far_by_phase.get(phase)
        if due is None:
            due = self._far_by_phase[phase] = slots[(tick + slots) % period == 0]
        return due

    def groups(self, room: Room, tick: int, slots: np.ndarray, clients: list[ClientSync],
               cfg: InterestConfig) -> list[InterestGroup]:
        if len(slots) <= cfg.all_to_all_limit:
            self.views.next_tick()
            self._key = None
            view = self.views.stable(slots)
            return [InterestGroup(view, EMPTY, clients, newest_join=int(room.slot_joined[view].max(initial=0)))]
        key = (id(slots), tuple(map(id, clients)), tuple(c.pinned for c in clients if c.pinned))
        if key != self._key or tick - self._refreshed_at >= cfg.refresh_ticks:
            self._key, self._refreshed_at = key, tick
            self.views.next_tick()
            self._groups = _near_groups(room, slots, clients, cfg, self.views)
        far_due = self._far_due(tick, slots, cfg.far_period)
        if len(far_due):
            is_due = np.zeros(room.allocated, dtype=bool)
            is_due[far_due] = True
            for group in self._groups:
                group.far = far_due
                group.send_near = group.near[~is_due[group.near]]
        else:
            for group in self._groups:
                group.far, group.send_near = EMPTY, group.near
        return self._groups


def _near_groups(room: Room, slots: np.ndarray, clients: list[ClientSync], cfg: InterestConfig,
                 views: ViewCache) -> list[InterestGroup]:
    """Near views of every occupied cell at once: distances from each cell's centre to every visible avatar,
    the `near_max` nearest within reach, plus the cell's own clients (and per client its pinned companions)."""
    xz = room.head_pos[slots][:, [0, 2]]
    client_slots = np.array([c.slot for c in clients], dtype=np.intp)
    cell_of = np.floor(room.head_pos[client_slots][:, [0, 2]] / cfg.cell_m).astype(np.int64)
    cells, which = np.unique(cell_of, axis=0, return_inverse=True)
    which = which.reshape(-1)
    centers = (cells + 0.5) * cfg.cell_m
    d2 = ((centers[:, None, :] - xz[None, :, :]) ** 2).sum(axis=2)  # (cells, visible avatars)
    reach2 = (cfg.near_m + cfg.cell_m * 0.7072) ** 2
    if len(slots) > cfg.near_max:
        nearest = np.argpartition(d2, cfg.near_max - 1, axis=1)[:, : cfg.near_max]
        chosen = np.zeros(d2.shape, dtype=bool)
        np.put_along_axis(chosen, nearest, True, axis=1)
    else:
        chosen = np.ones(d2.shape, dtype=bool)
    chosen &= d2 <= reach2
    in_near = np.zeros((len(cells), room.allocated), dtype=bool)
    in_near[:, slots] = chosen
    in_near[which, client_slots] = True  # a cell's own clients are always near each other
    order = np.argsort(which, kind="stable")
    bounds = np.searchsorted(which[order], np.arange(len(cells) + 1))
    groups: list[InterestGroup] = []
    joined = room.slot_joined
    for c in range(len(cells)):
        mask = in_near[c]
        view = views.stable(np.flatnonzero(mask))
        group = InterestGroup(view, EMPTY, [], mask, int(joined[view].max(initial=0)))
        for i in order[bounds[c] : bounds[c + 1]]:
            client = clients[i]
            extra = [o.slot for o in _pinned_visible(room, client) if not mask[o.slot]]
            if extra:  # companions outside the view: this client gets a view of its own
                own = mask.copy()
                own[extra] = True
                own_view = views.stable(np.flatnonzero(own))
                groups.append(InterestGroup(own_view, EMPTY, [client], own, int(joined[own_view].max(initial=0))))
            else:
                group.members.append(client)
        if group.members:
            groups.append(group)
    return groups


def _pinned_visible(room: Room, client: ClientSync) -> list:
    found = []
    for avatar_id in client.pinned:
        other = room.avatars.get(avatar_id)
        if other is not None and other.visible:
            found.append(other)
    return found
