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
