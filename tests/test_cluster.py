"""Two nodes sharing one Redis (docs/SCALING.md), in this process: a join on either node lands in the room's
owner, rooms go to the less loaded node, stock and shopping-group events cross nodes, and a room whose owner
stops is taken over by the other node."""

from __future__ import annotations

import asyncio
import uuid

import numpy as np
import pytest

from server.config import Settings
from sim.client import PlazaClient, http_json
from sim.shopper import Shopper
from tests.conftest import LiveServer, free_port
from tests.storage_backends import REDIS_URL, require_redis

IDENTITY = [0.0, 0.0, 0.0, 1.0]


@pytest.fixture
async def cluster(tmp_path):
    require_redis()
    prefix = f"plaza-test:{uuid.uuid4().hex}:"
    secret, token = b"cluster-test-secret-0123456789ab", "cluster-op"
    nodes = []
    for name in ("a", "b"):
        port = free_port()
        settings = Settings(port=port, data_dir=str(tmp_path / name), redis_url=REDIS_URL, storage_prefix=prefix,
                            node_id=name, secret=secret, operator_token=token, allowed_origins=("*",))
        (tmp_path / name).mkdir()
        nodes.append(LiveServer(settings))
    for node in nodes:
        await node.start()
    try:
        yield nodes
    finally:
        for node in nodes:
            if node.task is not None and not node.task.done():
                await node.stop()
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(REDIS_URL)
        async for key in client.scan_iter(match=prefix + "*", count=500):
            await client.delete(key)
        await client.aclose()


async def owner_of(node: LiveServer, room: str) -> str | None:
    owner = await node.app.state.plaza.node.directory.owner(room)
    return owner.id if owner else None


async def test_a_join_on_either_node_lands_in_the_rooms_owner(cluster):
    a, b = cluster
    first = await PlazaClient.join(a.url, room="main", name="Ann")
    owner = await owner_of(a, "main")
    assert owner in ("a", "b")
    owning, other = (a, b) if owner == "a" else (b, a)
    second = await PlazaClient.join(other.url, room="main", name="Ben")  # through the node that does not own it
    try:
        assert ("main", second.session.avatar_id) in owning.hub.sessions
        assert not any(rid == "main" for rid, _ in other.hub.sessions)
        sx, sy, sz = second.session.welcome["spawn"]
        for _ in range(30):
            second.send_pose({0: np.array([sx, sy + 1.6, sz, *IDENTITY])})
            await asyncio.sleep(1 / 60)
        snap = await first.next_snapshot()
        while second.session.avatar_id not in snap.avatars:
            snap = await first.next_snapshot()
        status, state = await asyncio.to_thread(http_json, "GET", f"{other.url}/api/cluster")
        assert status == 200 and {n["id"] for n in state["nodes"]} == {"a", "b"}
    finally:
        await first.close()
        await second.close()


async def test_new_rooms_go_to_the_less_loaded_node(cluster):
    a, b = cluster
    crowd = [await PlazaClient.join(a.url, room="main", name=f"c{i}") for i in range(3)]
    busy = await owner_of(a, "main")
    await asyncio.sleep(1.2)  # a heartbeat carries the new load
    status, store_room = await asyncio.to_thread(http_json, "GET", f"{a.url}/api/stores/space-market/room")
    guest = await PlazaClient.join(b.url, room=store_room["id"], name="Guest")
    # A room made over the API on one node can be joined through the other (and recreated after a failover).
    status, popup = await asyncio.to_thread(http_json, "POST", f"{a.url}/api/rooms",
                                            {"name": "Pop-up", "capacity": 10})
    assert status == 201
    visitor = await PlazaClient.join(b.url, room=popup["id"], name="Visitor")
    try:
        assert await owner_of(a, store_room["id"]) != busy  # placed on the node with fewer clients
        assert await owner_of(a, popup["id"]) == "a" and (popup["id"], visitor.session.avatar_id) in \
            a.hub.sessions
    finally:
        for c in (*crowd, guest, visitor):
            await c.close()


async def test_stock_and_group_events_cross_nodes(cluster):
    a, b = cluster
    status, scene_room = await asyncio.to_thread(http_json, "GET", f"{a.url}/api/stores/space-market/room")
    ann, ben = await Shopper.make(a.url, "Ann"), await Shopper.make(b.url, "Ben")
    await ann.enter("main")
    await ben.enter(scene_room["id"])
    owners = {await owner_of(a, "main"), await owner_of(a, scene_room["id"])}
    try:
        status, group = await ann.http("POST", "/api/groups", {"room": "main"})
        assert status == 201
        status, _ = await ben.http("POST", f"/api/invites/{group['code']}/accept")
        assert status == 200
        await ann.until(lambda m: m["t"] == "group_member" and m["member"] == ben.id and m.get("presence"))
        assert (await ben.ask({"t": "chat", "text": "I am in the space market"}))["t"] == "ok"
        line = await ann.until(lambda m: m["t"] == "chat" and m["member"] == ben.id)
        assert line["text"] == "I am in the space market"
        status, _ = await ann.http("POST", f"/api/groups/{group['id']}/bag/lines",
                                   {"product_id": "digital-aurora-jacket", "variant_id": "aurora"})
        await ben.until(lambda m: m["t"] == "group_bag" and m["by"] == ann.id)
        # A sale on one node: the other node's shoppers hear the new stock level.
        buyer = await Shopper.make(a.url, "Cy")
        await buyer.http("POST", "/api/bag/lines", {"product_id": "fridge-retro", "variant_id":
                                                    a.app.state.plaza.shop.catalog.get("fridge-retro").variants[0].id})
        status, _ = await buyer.http("POST", "/api/checkouts", {"payment_method": "test_approve",
                                                                "delivery": {"type": "pickup", "store": "boutique"}})
        assert status == 201
        for who in (ann, ben):
            await who.until(lambda m: m["t"] == "stock" and any(k.startswith("fridge-retro/") for k in m["levels"]))
        assert len(owners) in (1, 2)
    finally:
        await ann.close()
        await ben.close()


async def test_a_room_whose_node_stops_is_taken_over(cluster):
    a, b = cluster
    shopper = await PlazaClient.join(a.url, room="main", name="Ann")
    owner = await owner_of(a, "main")
    owning, survivor = (a, b) if owner == "a" else (b, a)
    await shopper.close()
    owning.app.state.plaza.node._task.cancel()  # it stops beating (as a killed node would), then stops serving
    await owning.stop()
    again = await PlazaClient.join(survivor.url, room="main", name="Ann again")
    try:
        assert await owner_of(survivor, "main") == survivor.settings.node_id
        assert ("main", again.session.avatar_id) in survivor.hub.sessions
    finally:
        await again.close()
