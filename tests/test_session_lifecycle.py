"""A connection is an object with a state: open, dropped (the seat waits), closed (left, replaced, refused),
and the once-a-second keepalive and the shutdown close, driven without sleeping on the clock."""

from __future__ import annotations

import asyncio

from server.net import close_codes as cc
from server.net.session import KEEPALIVE_IDLE_S, SessionState
from tests.test_ws_integration import join, wait_for


async def test_states_follow_the_connection_open_dropped_and_closed(live_server):
    hub = live_server.hub
    alice, bob = await join(live_server, "alice"), await join(live_server, "bob")
    a = hub.sessions[("main", alice.session.avatar_id)]
    b = hub.sessions[("main", bob.session.avatar_id)]
    assert a.state is SessionState.OPEN and b.state is SessionState.OPEN
    alice.drop()  # the socket goes away without a close frame: the seat waits for a resume
    await wait_for(lambda: a.state is SessionState.DROPPED)
    assert alice.session.avatar_id in hub.registry.get("main").avatars
    assert ("main", alice.session.avatar_id) not in hub.sessions
    bob.send_control({"t": "leave"})
    await asyncio.wait_for(bob.ws.closed, 5)
    await wait_for(lambda: b.state is SessionState.CLOSED)
    assert bob.session.avatar_id not in hub.registry.get("main").avatars  # left on purpose: the seat is free


async def test_a_second_connection_to_the_same_seat_replaces_the_first(live_server):
    hub = live_server.hub
    first = await join(live_server, "twice")
    old = hub.sessions[("main", first.session.avatar_id)]
    from sim.client import ClientSession, PlazaClient

    second = PlazaClient(live_server.url, session=ClientSession())
    await second.connect("/ws?v=2&room=main", token=first.session.welcome["resume"])
    assert second.session.welcome["resumed"] is True
    code, _reason = await asyncio.wait_for(first.ws.closed, 5)
    assert code == cc.REPLACED and old.state is SessionState.CLOSED
    assert hub.sessions[("main", first.session.avatar_id)] is not old
    await second.close()


async def test_a_silent_peer_is_pinged_then_dropped_by_the_keepalive(live_server):
    hub = live_server.hub
    client = await join(live_server, "quiet")
    session = hub.sessions[("main", client.session.avatar_id)]
    now = hub.clock.time_fn()
    session.last_received = now - KEEPALIVE_IDLE_S - 1
    session.keepalive(now)  # a ping goes out; the client's pong counts as traffic
    await wait_for(lambda: session.last_received > now - 1)
    assert session.state is SessionState.OPEN
    session.last_received = now - 2 * KEEPALIVE_IDLE_S - 1
    session.keepalive(now)
    code, _reason = await asyncio.wait_for(client.ws.closed, 5)
    assert code == 1011


async def test_shutdown_tells_every_client_to_come_back_later(live_server):
    client = await join(live_server, "stays")
    await live_server.hub.stop()
    code, _reason = await asyncio.wait_for(client.ws.closed, 5)
    assert code == cc.SERVICE_RESTART


async def test_frames_sent_together_with_the_upgrade_request_are_read_whole(live_server):
    """A client may send its auth message in the same packet as the upgrade request, cut anywhere."""
    import base64
    import os

    import msgpack

    from sim.client import http_json

    status, seat = await asyncio.to_thread(http_json, "POST", f"{live_server.url}/api/rooms/main/join",
                                           {"name": "eager"})
    assert status == 200
    payload = msgpack.packb({"t": "auth", "token": seat["token"]})
    key = os.urandom(4)
    frame = bytes((0x82, 0x80 | 126)) + len(payload).to_bytes(2, "big") + key + bytes(
        b ^ key[i % 4] for i, b in enumerate(payload)) if len(payload) >= 126 else bytes(
        (0x82, 0x80 | len(payload))) + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    request = (f"GET /ws?v=2&room=main HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", live_server.settings.port)
    writer.write(request + frame[:3])  # the head, and the auth frame's first bytes, in one write
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.write(frame[3:])
    await writer.drain()
    response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert response.startswith(b"HTTP/1.1 101")
    first = await asyncio.wait_for(reader.readexactly(4), 5)
    assert first[0] == 0x82
    length = first[1] if first[1] < 126 else int.from_bytes(first[2:4], "big")
    body = (first[2:] if first[1] < 126 else b"") + await asyncio.wait_for(
        reader.readexactly(length - (2 if first[1] < 126 else 0)), 5)
    assert msgpack.unpackb(body)["t"] == "welcome"
    writer.close()


async def test_a_backlog_of_honest_uploads_after_a_stall_is_not_called_a_flood(live_server):
    """Uploads are judged when the server reads them: two seconds of 60 Hz uploads arriving at once (the
    server's own loop was stalled) are taken; only a client sending far above the rate hears rate_limited."""
    from tests.test_ws_integration import head

    client = await join(live_server, "backlog")
    for _ in range(200):  # 3.3 s of uploads at 60 Hz, written in one go
        client.send_pose(head(client, 0.0, 0.0))
    ping = await client.request({"t": "ping"})
    assert ping["t"] == "pong"
    assert not [e for e in client.session.errors if e["code"] == "rate_limited"]
    for _ in range(150):  # the burst is spent: most of these are dropped (more would close with 4029)
        client.send_pose(head(client, 0.0, 0.0))
    await client.request({"t": "ping"})
    assert [e for e in client.session.errors if e["code"] == "rate_limited"]
    await client.close()
