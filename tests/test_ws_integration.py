"""The real server on a loopback port, driven by the reference client: sync, handshakes, bad input, resume."""

import asyncio
import contextlib
import time

import msgpack
import numpy as np
import pytest
from websockets.exceptions import InvalidStatus

from server import limits
from server.net import close_codes as cc
from server.realtime.tokens import JOIN, SeatToken, sign
from sim.client import ClientSession, PlazaClient, http_json

IDENTITY = [0.0, 0.0, 0.0, 1.0]


def head(client: PlazaClient, dx: float, dz: float) -> dict:
    """A head pose offset from the client's spawn point (the server limits speed from there)."""
    sx, sy, sz = client.session.welcome["spawn"]
    return {0: np.array([sx + dx, sy + 1.6, sz + dz, *IDENTITY])}


def offset_of(pose, client: PlazaClient) -> np.ndarray:
    sx, _, sz = client.session.welcome["spawn"]
    return pose.head_pos[[0, 2]] - (sx, sz)


async def join(server, name="shopper", **kw) -> PlazaClient:
    return await PlazaClient.join(server.url, name=name, **kw)


async def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def connect_raw(server, query: str, token: str | None = None) -> PlazaClient:
    client = PlazaClient(server.url, session=ClientSession())
    await client.connect(f"/ws?{query}", token=token, wait_welcome=False)
    return client


async def test_two_clients_see_each_other_move(live_server):
    alice, bob = await join(live_server, "alice"), await join(live_server, "bob")
    assert {a["name"] for a in bob.session.roster.values()} == {"alice", "bob"}
    for step in range(40):
        alice.send_pose(head(alice, 0.1, 0.01 * step))
        bob.send_pose(head(bob, -0.1, 0.0))
        await asyncio.sleep(1 / 60)
    await wait_for(lambda: (p := bob.session.pose_of(alice.session.avatar_id)) is not None
                   and offset_of(p, alice)[1] > 0.35)
    seen = bob.session.pose_of(alice.session.avatar_id)
    assert offset_of(seen, alice)[0] == pytest.approx(0.1, abs=1e-3)
    assert offset_of(alice.session.pose_of(bob.session.avatar_id), bob)[0] == pytest.approx(-0.1, abs=1e-3)
    assert bob.session.errors == [] and alice.session.errors == []
    await alice.close()
    await bob.close()


async def test_rooms_api_create_private_and_list(live_server):
    status, room = await asyncio.to_thread(http_json, "POST", f"{live_server.url}/api/rooms",
                                           {"name": "Fitting session", "private": True, "capacity": 4})
    assert status == 201 and room["invite_code"]
    status, listed = await asyncio.to_thread(http_json, "GET", f"{live_server.url}/api/rooms")
    assert room["id"] not in {r["id"] for r in listed} and "main" in {r["id"] for r in listed}
    status, reply = await asyncio.to_thread(http_json, "POST", f"{live_server.url}/api/rooms/{room['id']}/join",
                                            {"name": "eve"})
    assert status == 404 and reply["code"] == "room_not_found" and reply["status"] == 404
    status, reply = await asyncio.to_thread(http_json, "POST", f"{live_server.url}/api/rooms/{room['id']}/join",
                                            {"name": "eve", "invite_code": "wrong"})
    assert status == 403 and reply["code"] == "bad_invite_code"
    friend = await join(live_server, "friend", room=room["id"], invite_code=room["invite_code"])
    assert friend.session.welcome["room"] == room["id"]
    await friend.close()
    status, reply = await asyncio.to_thread(http_json, "POST", f"{live_server.url}/api/rooms",
                                            {"name": "x", "capacity": 100000})
    assert status == 422


@pytest.mark.parametrize(
    "query, auth, code",
    [
        ("room=main", {"t": "auth", "token": "x"}, cc.BAD_REQUEST),  # no version
        ("room=main&v=9", {"t": "auth", "token": "x"}, cc.UNSUPPORTED_VERSION),
        ("room=main&v=1&token=x", {"t": "auth", "token": "x"}, cc.UNSUPPORTED_VERSION),  # v1 put tokens in URLs
        ("room=main&v=2", {"t": "auth", "token": "garbage"}, cc.TOKEN_INVALID),
        ("room=main&v=2", {"t": "auth", "token": "x" * 5000}, cc.TOKEN_INVALID),
        ("room=main&v=2", {"t": "ping"}, cc.BAD_REQUEST),  # the first message must be auth
        ("room=main&v=2", [1, 2], cc.BAD_REQUEST),
    ],
)
async def test_handshake_refusals_close_with_a_documented_code(live_server, query, auth, code):
    client = await connect_raw(live_server, query)
    with contextlib.suppress(ConnectionError):  # a bad version is refused before the auth message
        client.send_raw(msgpack.packb(auth))
    closed = await asyncio.wait_for(client.ws.closed, 5)
    assert closed[0] == code and closed[1]


async def test_a_connection_that_never_authenticates_is_closed(live_server, monkeypatch):
    from server import limits

    monkeypatch.setitem(limits.TABLE, "auth_timeout_s", limits.Limit("auth_timeout_s", 0.3, "s", "test"))
    client = await connect_raw(live_server, "v=2&room=main")
    closed = await asyncio.wait_for(client.ws.closed, 5)
    assert closed[0] == cc.AUTH_TIMEOUT


async def test_tokens_for_another_room_or_expired_are_refused(live_server):
    hub = live_server.hub
    info = hub.registry.create("other", "boutique", hub.now(), room_id="other")
    _, avatar_id, token = hub.registry.reserve("other", "mallory", hub.now(), time.time())
    client = await connect_raw(live_server, "room=main&v=2", token)
    assert (await asyncio.wait_for(client.ws.closed, 5))[0] == cc.TOKEN_INVALID
    nonce = info.room.avatars[avatar_id].nonce
    expired = sign(live_server.settings.secret, SeatToken(JOIN, "other", avatar_id, nonce, time.time() - 1))
    client = await connect_raw(live_server, "room=other&v=2", expired)
    closed = await asyncio.wait_for(client.ws.closed, 5)
    assert closed[0] == cc.TOKEN_EXPIRED and "expired" in closed[1]
    assert info.room.avatars[avatar_id].visible is False


async def test_old_tokens_never_open_a_later_shoppers_seat(live_server):
    """Avatar ids are reused once a seat is free; the seat nonce in every token keeps them apart."""
    hub = live_server.hub
    room = hub.registry.get("main")
    gone = await join(live_server, "departed")
    gone_id, resume = gone.session.welcome["avatar"], gone.session.welcome["resume"]
    gone.send_control({"t": "leave"})
    await asyncio.wait_for(gone.ws.closed, 5)
    await wait_for(lambda: gone_id not in room.avatars)
    room.tick_no += 1000  # long enough ago that the id is handed out again
    newcomer = await join(live_server, "newcomer")
    assert newcomer.session.welcome["avatar"] == gone_id  # the same id, a different seat
    thief = await connect_raw(live_server, "room=main&v=2", resume)
    closed = await asyncio.wait_for(thief.ws.closed, 5)
    assert closed[0] == cc.ROOM_CLOSED and "no longer exists" in closed[1]
    assert not newcomer.ws.closed.done()  # the rightful owner is still there
    await newcomer.close()


async def test_a_join_token_opens_its_seat_once(live_server):
    _, reply = await asyncio.to_thread(http_json, "POST", f"{live_server.url}/api/rooms/main/join", {"name": "ann"})
    ann = PlazaClient(live_server.url, session=ClientSession())
    await ann.connect(reply["ws_url"], token=reply["token"])
    again = await connect_raw(live_server, "room=main&v=2", reply["token"])
    closed = await asyncio.wait_for(again.ws.closed, 5)
    assert closed[0] == cc.TOKEN_INVALID and "resume token" in closed[1]
    assert not ann.ws.closed.done()
    await ann.close()


async def test_origin_not_on_the_allow_list_is_refused(live_server):
    _, reply = await asyncio.to_thread(http_json, "POST", f"{live_server.url}/api/rooms/main/join", {"name": "x"})
    client = PlazaClient(live_server.url, session=ClientSession())
    with pytest.raises(InvalidStatus) as refused:
        await client.connect(reply["ws_url"], token=reply["token"], origin="http://evil.example")
    assert refused.value.response.status_code == 403


async def test_bad_messages_get_errors_and_other_clients_do_not_notice(live_server):
    victim, bystander = await join(live_server, "victim"), await join(live_server, "bystander")
    victim.send_raw(b"\x93\x01\x02")  # msgpack array, not a map
    victim.send_raw(b"\xc1\xff\x00")  # not msgpack at all
    victim.send_raw(msgpack.packb({"t": "teleport", "to": "the moon"}))
    victim.send_raw(msgpack.packb({"t": "dance"}))
    victim.send_raw(msgpack.packb({"t": "ack", "tick": "soon"}))
    victim.send_raw(b"\x01\x01\x00\x00\x00\x00\x00\x00" + np.array([np.nan] * 7, "<f4").tobytes())
    victim.send_raw(b"\x01\x01\x00\x00")  # truncated pose
    await wait_for(lambda: len(victim.session.errors) >= 7)
    codes = [e["code"] for e in victim.session.errors]
    assert codes.count("malformed") == 2
    assert {"bad_request", "unknown_type", "pose_non_finite", "pose_malformed"} <= set(codes)
    assert all(isinstance(e["msg"], str) and e["msg"] for e in victim.session.errors)
    for step in range(10):  # the room carries on for everyone
        bystander.send_pose(head(bystander, 0.0, 0.02 * step))
        victim.send_pose(head(victim, 0.0, 0.0))
        await asyncio.sleep(1 / 60)
    await wait_for(lambda: (p := victim.session.pose_of(bystander.session.avatar_id)) is not None
                   and offset_of(p, bystander)[1] > 0.15)
    assert bystander.session.errors == []
    await victim.close()
    await bystander.close()


async def test_oversized_frame_closes_with_1009(live_server):
    client = await join(live_server, "big")
    client.send_raw(b"\x01" + bytes(64 * 1024))
    closed = await asyncio.wait_for(client.ws.closed, 5)
    assert closed[0] == cc.MESSAGE_TOO_BIG


async def test_flooding_is_rate_limited_then_closed(live_server):
    client = await join(live_server, "flood")
    for _ in range(600):
        if client.ws.transport.is_closing():
            break
        client.send_control({"t": "ping"})
        await asyncio.sleep(0)
    closed = await asyncio.wait_for(client.ws.closed, 10)
    assert closed[0] == cc.FLOODING
    assert any(e["code"] == "rate_limited" for e in client.session.errors)


async def test_many_malformed_messages_close_with_4002(live_server):
    client = await join(live_server, "noisy")
    for _ in range(60):
        if client.ws.transport.is_closing():
            break
        client.send_raw(b"\xc1")
        await asyncio.sleep(0.001)
    closed = await asyncio.wait_for(client.ws.closed, 10)
    assert closed[0] == cc.PROTOCOL_ERRORS


async def test_resume_after_a_drop_keeps_the_seat_and_nobody_sees_a_leave(live_server):
    alice, bob = await join(live_server, "alice"), await join(live_server, "bob")
    alice_id = alice.session.avatar_id
    alice.send_pose(head(alice, 0.0, 0.0))
    await wait_for(lambda: bob.session.pose_of(alice_id) is not None)
    alice.drop()
    await asyncio.sleep(0.3)
    await alice.resume()
    assert alice.session.welcome["avatar"] == alice_id and alice.session.welcome["resumed"] is True
    for step in range(30):
        alice.send_pose(head(alice, 0.0, 0.01 * step))
        await asyncio.sleep(1 / 60)
    await wait_for(lambda: offset_of(bob.session.pose_of(alice_id), alice)[1] > 0.2)
    bob_controls = []
    while not bob.events.empty():
        kind, value = bob.events.get_nowait()
        if kind == "control":
            bob_controls.append(value["t"])
    assert "left" not in bob_controls and "joined" not in bob_controls  # no flicker
    await alice.close()
    await bob.close()


async def test_leave_removes_the_avatar_for_the_others(live_server):
    alice, bob = await join(live_server, "alice"), await join(live_server, "bob")
    alice_id = alice.session.avatar_id
    alice.send_control({"t": "leave"})
    closed = await asyncio.wait_for(alice.ws.closed, 5)
    assert closed[0] == cc.NORMAL
    await wait_for(lambda: alice_id not in bob.session.roster)
    await bob.close()


async def test_ping_pin_teleport_replies_echo_the_request_id(live_server):
    client = await join(live_server, "walker")
    pong = await client.request({"t": "ping"})
    assert pong["t"] == "pong" and isinstance(pong["st"], int)
    assert (await client.request({"t": "pin", "avatars": [1, 2]}))["t"] == "ok"
    reply = await client.request({"t": "teleport", "to": [500.0, 0.0, 0.0]})
    assert reply["t"] == "error" and reply["code"] in {"teleport_too_far", "teleport_blocked"}
    await client.close()


async def test_metrics_and_healthz(live_server):
    client = await join(live_server, "counted")
    client.send_raw(b"\xc1")
    await wait_for(lambda: client.session.errors)
    status, _ = await asyncio.to_thread(http_json, "GET", f"{live_server.url}/healthz")
    assert status == 200
    import urllib.request

    text = await asyncio.to_thread(lambda: urllib.request.urlopen(f"{live_server.url}/metrics").read().decode())
    assert "plaza_tick_work_seconds_bucket" in text and "plaza_clients 1" in text
    assert 'plaza_message_errors_total{reason="malformed"} 1' in text
    await client.close()


async def test_seat_reservations_are_rate_limited_per_address(live_server):
    hub = live_server.hub
    burst = int(limits.get("join_burst_per_address"))
    assert burst < hub.registry.get("main").capacity  # a burst can never fill the store's room
    assert all(hub.allow_join("203.0.113.7") for _ in range(burst))
    assert not hub.allow_join("203.0.113.7")  # the burst is spent
    assert hub.allow_join("198.51.100.1")  # other addresses are not affected


async def test_one_address_cannot_hold_a_room_and_the_operator_can(live_server):
    url = live_server.url
    pending = int(limits.get("pending_seats_per_address"))
    replies = [await asyncio.to_thread(http_json, "POST", f"{url}/api/rooms/main/join", {"name": f"s{i}"})
               for i in range(pending + 1)]
    assert [status for status, _ in replies[:pending]] == [200] * pending
    status, problem = replies[pending]
    assert status == 429 and problem["code"] == "too_many_pending_seats"
    status, _ = await asyncio.to_thread(http_json, "POST", f"{url}/api/rooms/main/join", {"name": "bot"},
                                        operator_token=live_server.settings.operator_token)
    assert status == 200  # a load test presents the operator token
    status, problem = await asyncio.to_thread(http_json, "POST", f"{url}/api/rooms/main/join", {"name": "bot"},
                                              operator_token="not-the-token")
    assert status == 429


async def test_a_reader_that_stops_reading_is_dropped_within_the_documented_lag_in_a_small_room(live_server):
    """Two shoppers; one stops reading its socket (its kernel buffers could hold minutes of small frames)."""
    hub = live_server.hub
    reader, other = await join(live_server, "stops-reading"), await join(live_server, "other")
    reader_id = reader.session.welcome["avatar"]
    for _ in range(30):
        reader.send_pose(head(reader, 0.0, 0.0))
        other.send_pose(head(other, 0.1, 0.0))
        await asyncio.sleep(1 / 60)
    await wait_for(lambda: hub.sessions[("main", reader_id)].sync.acked_tick > 0)
    conn = hub.sessions[("main", reader_id)]
    reader.ws.transport.pause_reading()
    stopped_at = hub.registry.get("main").tick_no
    for _ in range(400):  # it keeps uploading (with a stale ack), as a stalled renderer's network thread may
        if conn.close_requested:
            break
        reader.send_pose(head(reader, 0.0, 0.0))
        await asyncio.sleep(1 / 60)  # `other` reads and acknowledges (the reference client acks while quiet)
    assert conn.close_requested is not None and conn.close_requested[0] == cc.TOO_SLOW
    lag_ticks = hub.registry.get("main").tick_no - stopped_at
    assert lag_ticks <= (limits.get("max_behind_s") + 0.5) * hub.tick_hz  # 2 s plus what was in flight
    assert not other.ws.closed.done()
    sock = conn.transport.get_extra_info("socket") if conn.transport else None
    assert sock is not None or conn.state.value in ("closed", "dropped")
    if sock is None:
        return
    import socket as socket_module

    assert sock.getsockopt(socket_module.SOL_SOCKET, socket_module.SO_SNDBUF) <= 2 * limits.get(
        "socket_send_buffer_bytes")  # Linux doubles the value it is given
    await other.close()
