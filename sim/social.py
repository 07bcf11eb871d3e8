"""`sim load --group-size K`: the decoding bots shop in groups of K (docs/SOCIAL.md) and measure event latency.

Each bot is a shopper (its seat joined with its key); the first of every K makes a group, the others accept
its code. During the measured window every member chats about every 3 s, points about twice a second (the ray
starts at its head, as the server requires) and edits the shared bag over HTTP about every 6 s (add a unit,
then take it out again). All bots of a group live in this process, so one monotonic clock times each event
from the moment it was sent to the moment each other member received it: chat lines and pointing rays over
the websocket, bag edits from the HTTP request to the `group_bag` message. Lost events are counted.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.client import PlazaClient, http_json

CHAT_EVERY_S = 3.0
POINT_EVERY_S = 0.5
BAG_EVERY_S = 6.0


@dataclass
class Member:
    client: PlazaClient
    shopper_id: str
    shopper_key: str
    group: str = ""
    line: str | None = None  # the shared-bag line this member added (removed again on the next edit)


@dataclass
class _Kind:
    sent: int = 0
    expected: int = 0  # deliveries owed: every other member of the group, per event
    latencies: list[float] = field(default_factory=list)


async def make_shopper(url: str, name: str, token: str | None) -> tuple[str, str]:
    status, made = await asyncio.to_thread(http_json, "POST", f"{url}/api/shoppers", {"name": name},
                                           operator_token=token)
    if status != 201:
        raise ConnectionError(f"shopper refused ({status}): {made}")
    return made["shopper_id"], made["shopper_key"]


class SocialBots:
    def __init__(self, url: str, members: list[Member], group_size: int, token: str | None) -> None:
        self.url, self.members, self.size, self.token = url.rstrip("/"), members, group_size, token
        self.groups: dict[str, list[Member]] = {}
        self.kinds = {"chat": _Kind(), "point": _Kind(), "bag": _Kind()}
        self.sent_at: dict[tuple[str, str], tuple[float, bool]] = {}  # (kind, key) -> (send time, in the window)
        self.bag_edits: dict[str, list[float]] = {}  # sender -> send times of bag edits not yet seen by all
        self.seen: dict[tuple[str, str], int] = {}  # deliveries counted per event
        self.measuring = False
        self.errors: dict[str, int] = {}
        self._keys = itertools.count()
        self._tasks: set[asyncio.Task] = set()

    async def _http(self, member: Member, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
        headers = {"X-Shopper-Key": member.shopper_key, "Idempotency-Key": f"sim-{next(self._keys)}-{time.time()}"}
        return await asyncio.to_thread(http_json, method, f"{self.url}{path}", body, operator_token=self.token,
                                       headers=headers)

    async def form_groups(self, room: str) -> None:
        for start in range(0, len(self.members), self.size):
            chunk = self.members[start:start + self.size]
            status, group = await self._http(chunk[0], "POST", "/api/groups", {"room": room})
            if status != 201:
                raise ConnectionError(f"group refused ({status}): {group}")
            for member in chunk[1:]:
                status, reply = await self._http(member, "POST", f"/api/invites/{group['code']}/accept")
                if status != 200:
                    raise ConnectionError(f"invite refused ({status}): {reply}")
            for member in chunk:
                member.group = group["id"]
            self.groups[group["id"]] = chunk

    # ------------------------------------------------------------------ receiving
    def on_control(self, member: Member, message: dict[str, Any], now: float) -> None:
        kind = message.get("t")
        if kind == "chat":
            self._arrived("chat", message.get("text", ""), message.get("member"), member, now)
        elif kind == "pointed":
            self._arrived("point", message.get("product") or "", message.get("member"), member, now)
        elif kind == "group_bag":
            sender = message.get("by")
            pending = self.bag_edits.get(sender or "")
            if pending and sender != member.shopper_id:
                key = f"{sender}:{pending[0]}"
                self._arrived("bag", key, sender, member, now)
        elif kind == "error":
            code = str(message.get("code"))
            self.errors[code] = self.errors.get(code, 0) + 1

    def _arrived(self, kind: str, key: str, sender: str | None, member: Member, now: float) -> None:
        if sender == member.shopper_id:
            return  # the sender's own echo
        found = self.sent_at.get((kind, key))
        if found is None:
            return
        t_sent, counted = found
        if counted:
            self.kinds[kind].latencies.append(now - t_sent)
        count = self.seen[(kind, key)] = self.seen.get((kind, key), 0) + 1
        if count >= self.size - 1 and kind == "bag":  # every other member saw it: the next edit is next
            pending = self.bag_edits.get(sender or "")
            if pending:
                pending.pop(0)

    # ------------------------------------------------------------------ sending
    def _count(self, kind: str, member: Member) -> None:
        if self.measuring:
            self.kinds[kind].sent += 1
            self.kinds[kind].expected += len(self.groups[member.group]) - 1

    async def run(self, open_at: float, close_at: float, head_of: Callable[[int], np.ndarray | None]) -> None:
        """Act until `close_at`; count events sent in [open_at, close_at - 1 s] (the last second's are still
        in flight when the window closes)."""
        rng = np.random.default_rng(11)
        loops = [self._member_loop(j, m, open_at, close_at, head_of, rng.uniform(0, 1)) for j, m in
                 enumerate(self.members)]
        await asyncio.gather(*loops)

    async def _member_loop(self, j: int, member: Member, open_at: float, close_at: float,
                           head_of: Callable[[int], np.ndarray | None], phase: float) -> None:
        start = time.monotonic()
        next_chat = start + phase * CHAT_EVERY_S
        next_point = start + phase * POINT_EVERY_S
        next_bag = start + phase * BAG_EVERY_S
        seq = 0
        while (now := time.monotonic()) < close_at:
            self.measuring = open_at <= now <= close_at - 1.0
            if member.client.ws is None or member.client.ws.closed.done():
                return
            if now >= next_chat:
                seq += 1
                text = f"{member.shopper_id} {seq} how about this one"
                self.sent_at[("chat", text)] = (time.monotonic(), self.measuring)
                member.client.send_control({"t": "chat", "text": text})
                self._count("chat", member)
                next_chat += CHAT_EVERY_S
            if now >= next_point:
                head = head_of(j)
                if head is not None:
                    seq += 1
                    product = f"sim-{member.shopper_id}-{seq}"
                    self.sent_at[("point", product)] = (time.monotonic(), self.measuring)
                    member.client.send_control({"t": "point", "product": product, "from": [float(v) for v in head],
                                                "dir": [0.0, -0.3, -1.0]})
                    self._count("point", member)
                next_point += POINT_EVERY_S
            if now >= next_bag:
                next_bag += BAG_EVERY_S
                self._spawn(self._bag_edit(member))
            await asyncio.sleep(max(0.0, min(next_chat, next_point, next_bag) - time.monotonic()))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _bag_edit(self, member: Member) -> None:
        t0 = time.monotonic()
        counted = self.measuring
        key = f"{member.shopper_id}:{t0}"
        self.sent_at[("bag", key)] = (t0, counted)
        self.bag_edits.setdefault(member.shopper_id, []).append(t0)
        if member.line is None:
            status, bag = await self._http(member, "POST", f"/api/groups/{member.group}/bag/lines",
                                           {"product_id": "digital-aurora-jacket", "variant_id": "aurora"})
            if status == 200:
                mine = [li for li in bag["lines"] if li["added_by"] == member.shopper_id]
                member.line = mine[0]["line_id"] if mine else None
        else:
            status, _ = await self._http(member, "DELETE", f"/api/groups/{member.group}/bag/lines/{member.line}")
            member.line = None
        if status != 200:
            self.errors[f"http {status}"] = self.errors.get(f"http {status}", 0) + 1
            self.bag_edits[member.shopper_id].remove(t0)
            return
        if counted:
            self.kinds["bag"].sent += 1
            self.kinds["bag"].expected += len(self.groups[member.group]) - 1

    # ------------------------------------------------------------------ the report
    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {"groups": len(self.groups), "group_size": self.size, "members": len(self.members),
                               "errors": dict(self.errors)}
        for name, kind in self.kinds.items():
            lat = np.asarray(kind.latencies) * 1000.0
            out[name] = {"sent": kind.sent, "deliveries_expected": kind.expected, "delivered": len(lat),
                         "p50_ms": float(np.percentile(lat, 50)) if len(lat) else None,
                         "p99_ms": float(np.percentile(lat, 99)) if len(lat) else None}
        return out

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
