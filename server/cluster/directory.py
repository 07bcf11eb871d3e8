"""The room directory in Redis: which node owns which room, which nodes are alive and how loaded.

Keys under the prefix: `node:<id>` (JSON {url, clients, rooms, at}, expiring `NODE_TTL_S` after the last
heartbeat: a node that stops beating is dead), `nodes` (the set of node ids ever seen), `room_owner:<room>`
(the owning node's id, expiring `ROOM_TTL_S` after its owner last refreshed it), `room_def:<room>` (how to
recreate a room created over the API, for the node that takes it over). A room is claimed with one Lua script:
it succeeds if nobody owns the room or its owner is dead, so two nodes never both own one room.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

NODE_TTL_S = 3  # a node missing this many seconds of heartbeats is dead
ROOM_TTL_S = 6  # an owner refreshes its rooms every heartbeat (1 s); a dead owner's rooms free up after this

_CLAIM = """
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] and redis.call('EXISTS', ARGV[3] .. cur) == 1 then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return ARGV[1]
"""

_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('EXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
"""


@dataclass(frozen=True)
class NodeInfo:
    id: str
    url: str  # public base URL (http://host:port, or a proxy path)
    clients: int
    rooms: int
    at: float


class Directory:
    def __init__(self, client: aioredis.Redis, prefix: str, node_id: str, url: str) -> None:
        self.client, self.prefix, self.node_id, self.url = client, prefix, node_id, url
        self._claim = client.register_script(_CLAIM)
        self._refresh = client.register_script(_REFRESH)
        self._release = client.register_script(_RELEASE)

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # ------------------------------------------------------------------ nodes
    async def heartbeat(self, clients: int, rooms: int) -> None:
        record = json.dumps({"url": self.url, "clients": clients, "rooms": rooms, "at": time.time()})
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(self._k("node", self.node_id), record, ex=NODE_TTL_S)
            pipe.sadd(self._k("nodes"), self.node_id)
            await pipe.execute()

    async def leave(self) -> None:
        await self.client.delete(self._k("node", self.node_id))

    async def node(self, node_id: str) -> NodeInfo | None:
        raw = await self.client.get(self._k("node", node_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return NodeInfo(node_id, data["url"], data["clients"], data["rooms"], data["at"])

    async def live_nodes(self) -> list[NodeInfo]:
        found = []
        for node_id in sorted(await self.client.smembers(self._k("nodes"))):
            info = await self.node(node_id)
            if info is not None:
                found.append(info)
        return found

    # ------------------------------------------------------------------ rooms
    async def owner(self, room_id: str) -> NodeInfo | None:
        """The live node that owns the room, or None (nobody, or its owner died)."""
        node_id = await self.client.get(self._k("room_owner", room_id))
        return await self.node(node_id) if node_id else None

    async def claim(self, room_id: str) -> str:
        """Own the room if it is free or its owner is dead; the owner's id after the attempt."""
        return await self._claim(keys=[self._k("room_owner", room_id)],
                                 args=[self.node_id, ROOM_TTL_S, self._k("node", "")])

    async def refresh(self, room_ids: list[str]) -> list[str]:
        """Keep owning these rooms; the ones this node lost (someone else owns them now)."""
        lost = []
        for room_id in room_ids:
            kept = await self._refresh(keys=[self._k("room_owner", room_id)], args=[self.node_id, ROOM_TTL_S])
            if not kept and await self.claim(room_id) != self.node_id:  # expired: take it back unless taken
                lost.append(room_id)
        return lost

    async def release(self, room_id: str) -> None:
        await self._release(keys=[self._k("room_owner", room_id)], args=[self.node_id])

    async def save_room(self, room_id: str, record: dict[str, Any]) -> None:
        await self.client.set(self._k("room_def", room_id), json.dumps(record))

    async def room_record(self, room_id: str) -> dict[str, Any] | None:
        raw = await self.client.get(self._k("room_def", room_id))
        return json.loads(raw) if raw else None

    async def forget_room(self, room_id: str) -> None:
        await self.client.delete(self._k("room_def", room_id))

    async def shared_secret(self, name: str, make: str) -> str:
        """A value every node shares (the token signing secret, the operator token): the first node's wins."""
        key = self._k("shared", name)
        await self.client.set(key, make, nx=True)
        return await self.client.get(key)
