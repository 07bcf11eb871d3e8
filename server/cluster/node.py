"""This process as one node of a cluster (docs/SCALING.md): heartbeats, room ownership, join routing, and the
relays that carry cross-room events to the other nodes.

- Every second the node writes its heartbeat (clients, rooms) and refreshes the rooms it owns; a room it lost
  (its key taken by another node after a stall) is closed here, so its clients re-join where it lives now.
- A join for a room: its live owner serves it; a room nobody owns (new, or its owner died) goes to the least
  loaded live node, which claims it atomically. A join that reached another node is forwarded over HTTP
  with the client's address, signed with the cluster's shared secret; the answer's `ws_url` is absolute, so
  the client opens its websocket at the owning node.
- A room created over the API is recorded in Redis, so whichever node takes it over can recreate it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from server import limits
from server.cluster.bus import Bus
from server.cluster.directory import Directory, NodeInfo
from server.net.close_codes import ROOM_CLOSED
from server.realtime.interest import InterestConfig
from server.realtime.registry import RoomError

if TYPE_CHECKING:
    from server.net.app import Services

log = logging.getLogger(__name__)
BEAT_S = 1.0
FORWARDED_HEADER = "X-Plaza-Forwarded-For"
SIGNATURE_HEADER = "X-Plaza-Node-Signature"


class Node:
    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.services, self.hub = services, services.hub
        self.id = settings.node_id or "node"
        self.url = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
        # Socket timeouts (storage_timeout_s): a heartbeat to a Redis behind a partition fails instead of hanging,
        # so the node notices; longer than the bus's 1 s blocking read.
        wait = limits.get("storage_timeout_s")
        self.client = aioredis.Redis.from_url(settings.redis_url, decode_responses=True, socket_timeout=wait,
                                              socket_connect_timeout=wait)
        prefix = settings.storage_prefix + "cluster:"
        self.directory = Directory(self.client, prefix, self.id, self.url)
        self.bus = Bus(self.client, prefix, self.id)
        self.owned: set[str] = set()
        self._secret = settings.secret
        self._task: asyncio.Task | None = None
        self._http: Any = None
        self.hub.relay_all = lambda message: self.bus.publish("all", {"message": message})
        self.bus.handlers["all"] = lambda m: self.hub.broadcast_all(m["message"], relay=False)
        self.bus.handlers["group"] = self._group_event

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        import httpx  # the forwarding client (a maintained HTTP/1.1 client rather than a hand-written one)

        self._http = httpx.AsyncClient(timeout=10.0)
        await self.directory.heartbeat(len(self.hub.sessions), len(self.owned))
        await self.bus.start()
        self._task = asyncio.get_running_loop().create_task(self._beat())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.bus.stop()
        with contextlib.suppress(Exception):  # a clean stop hands the rooms over at once
            for room_id in list(self.owned):
                await self.directory.release(room_id)
            await self.directory.leave()
        if self._http is not None:
            await self._http.aclose()
        await self.client.aclose()

    async def _beat(self) -> None:
        while True:
            try:
                await self.directory.heartbeat(len(self.hub.sessions), len(self.owned))
                for room_id in await self.directory.refresh(sorted(self.owned)):
                    self._lost(room_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: one line a beat (the rooms run on; docs/SCALING.md)
                log.warning("cluster heartbeat failed: %s", type(exc).__name__)
            await asyncio.sleep(BEAT_S)

    def _lost(self, room_id: str) -> None:
        """Another node owns this room now: its clients here must re-join (they land where it lives)."""
        self.owned.discard(room_id)
        for session in list(self.hub.room_sessions(room_id)):
            session.close(ROOM_CLOSED, "this room moved to another server; join again")

    # ------------------------------------------------------------------ joins
    def sign(self, address: str) -> str:
        return hmac.new(self._secret, f"forwarded:{address}".encode(), hashlib.sha256).hexdigest()

    def forwarded_address(self, headers: Any) -> str | None:
        """The client's address of a join forwarded by another node of this cluster (verified), else None."""
        address, signature = headers.get(FORWARDED_HEADER), headers.get(SIGNATURE_HEADER)
        if not address or not signature or not hmac.compare_digest(signature, self.sign(address)):
            return None
        return address

    async def route(self, room_id: str, forwarded: bool) -> NodeInfo | None:
        """Where a join for this room is served: None for here (the room is made ready), else the node."""
        owner = await self.directory.owner(room_id)
        if owner is not None and owner.id != self.id:
            return owner
        if owner is None and not forwarded:
            nodes = await self.directory.live_nodes()
            target = min(nodes, key=lambda n: (n.clients, n.rooms, n.id), default=None)
            if target is not None and target.id != self.id:
                return target  # it claims the room when the forwarded join arrives
        got = await self.directory.claim(room_id)
        if got != self.id:
            return await self.directory.node(got)
        self.owned.add(room_id)
        await self._ensure_local(room_id)
        return None

    async def _ensure_local(self, room_id: str) -> None:
        registry = self.hub.registry
        if room_id in registry.rooms:
            return
        scene = self.services.settings.scene
        if room_id == "main" or room_id.startswith("store-"):
            self.hub.store_room(scene if room_id == "main" else room_id.removeprefix("store-"))
            return
        record = await self.directory.room_record(room_id)
        if record is None:
            raise RoomError(404, "room_not_found", "no such room")
        registry.create(record["name"], record["scene"], self.hub.now(), private=record["private"],
                        capacity=record["capacity"], room_id=room_id, created_by=record.get("created_by"),
                        interest=InterestConfig(all_to_all_limit=record["interest_limit"]), exempt=True,
                        invite_code=record.get("invite_code"))

    async def room_created(self, room_id: str) -> None:
        """A room made here over the API: this node owns it, and any node can bring it back."""
        info = self.hub.registry.rooms[room_id]
        await self.directory.save_room(room_id, info.record())
        if await self.directory.claim(room_id) == self.id:
            self.owned.add(room_id)

    async def forward_join(self, target: NodeInfo, room_id: str, body: dict[str, Any], address: str,
                           headers: dict[str, str]) -> tuple[int, Any, str]:
        """The target node's answer to this join: (status, body, content type)."""
        sent = {k: v for k, v in headers.items() if v is not None}
        sent |= {FORWARDED_HEADER: address, SIGNATURE_HEADER: self.sign(address)}
        try:
            response = await self._http.post(f"{target.url}/api/rooms/{room_id}/join", json=body, headers=sent)
        except Exception as exc:
            log.warning("forwarding a join to node %s failed: %s", target.id, exc)
            return 503, {"type": "/problems/node_unavailable", "title": "Service Unavailable", "status": 503,
                         "code": "node_unavailable", "detail": "the server holding this room did not answer; "
                                                               "try again in a few seconds"}, \
                "application/problem+json"
        return response.status_code, response.json(), response.headers.get("content-type", "application/json")

    def ws_url(self, path: str) -> str:
        return self.url + path

    # ------------------------------------------------------------------ shopping groups across nodes
    def relay_group(self, group: Any, message: dict[str, Any], to: set[str] | None) -> None:
        self.bus.publish("group", {"group": group.to_dict(), "message": message,
                                   "to": sorted(to) if to is not None else None})

    def _group_event(self, envelope: dict[str, Any]) -> None:
        live = self.hub.social
        if live is None:
            return
        from server.social.groups import Group

        group = Group.from_dict(envelope["group"])
        message = envelope["message"]
        live.service._remember(group)
        if message.get("t") == "group_member" and "presence" in message:
            live.remote_presence[message["member"]] = {k: message[k] for k in ("presence", "room", "voice",
                                                                                 "avatars") if k in message}
        if message.get("t") == "chat":
            live.remember_chat(group.id, message)
        to = set(envelope["to"]) if envelope.get("to") is not None else None
        live.deliver(group, message, to, relay=False)

    def status(self) -> dict[str, Any]:
        return {"node": self.id, "url": self.url, "owned_rooms": sorted(self.owned),
                "bus": {"sent": self.bus.sent, "received": self.bus.received, "dropped": self.bus.dropped}}
