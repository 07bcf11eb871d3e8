"""Mocap trust: VMC work bounded per datagram and per source, idle seats released and taken again, sources
surviving a restart, names and file names that cannot crash or spoof. Work is counted, never timed."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from server import limits
from server.config import Settings
from server.mocap.ingest import KEY_ADDRESS, MocapSources
from server.mocap.osc import encode_bundle, encode_message, parse_packet_limited, timetag_from_seconds
from server.mocap.vmc import BONE_POS
from server.net.app import create_app
from server.realtime.room import Room
from tests.test_mocap_ingest import ADDR, Recorder, packet

CAP = int(limits.get("vmc_messages_per_datagram"))
RATE = int(limits.get("vmc_datagrams_per_source_per_s"))
IDLE = float(limits.get("mocap_idle_release_s"))
OPERATOR = {"Authorization": "Bearer op-token"}


def heavy_bundle(key: str, bones: int = 900, t: float = 0.0) -> bytes:
    """~64 KB: the key, then `bones` bone messages (what a hostile keyed sender can pack into one datagram)."""
    bone = ["Hips", 0.0, 0.9, 0.0, 0.0, 0.0, 0.0, 1.0]
    msgs = [encode_message(KEY_ADDRESS, [key])] + [encode_message(BONE_POS, bone)] * bones
    return encode_bundle(timetag_from_seconds(1000 + t), msgs)


def test_a_datagram_is_read_only_up_to_the_message_cap():
    data = heavy_bundle("k")
    assert 50_000 < len(data) <= 65_507
    messages, skipped = parse_packet_limited(data, CAP)
    assert len(messages) == CAP and skipped == 901 - CAP


def test_a_keyed_sender_cannot_make_the_ingest_apply_900_bones_per_datagram():
    reg = MocapSources(Recorder())
    sid, key = reg.create()
    reg.bind(sid, "r", 1)
    assert reg.feed_datagram(heavy_bundle(key), ADDR, 0.0) == 1
    src = reg.sources[sid]
    assert src.assembler.counters["bones"] == CAP - 1  # the key is message 1 of the CAP read
    assert reg.counters["messages_over_cap"] == 901 - CAP and reg.counters["datagrams_over_message_cap"] == 1
    assert reg.metrics()["messages_over_cap"] == 901 - CAP


def test_datagrams_per_source_per_second_are_capped_and_the_excess_counted():
    sink = Recorder()
    reg = MocapSources(sink)
    sid, key = reg.create()
    reg.bind(sid, "r", 1)
    for i in range(1000):  # a flood at one instant: one second's budget is handled
        reg.feed_datagram(packet(key, i / 1000, seed=i), ADDR, 10.0)
    assert len(sink.calls) == RATE and reg.counters["dropped_over_rate"] == 1000 - RATE
    for i in range(10):  # half a second later, half a second's budget again
        reg.feed_datagram(packet(key, 2 + i / 1000, seed=i), ADDR, 10.5)
    assert len(sink.calls) == RATE + 10
    other_sid, other_key = reg.create()  # another source has its own budget
    reg.bind(other_sid, "r", 2)
    assert reg.feed_datagram(packet(other_key, 5.0), ADDR, 10.0) == 1


class RoomSeats:
    """A SeatKeeper over a real room, recording departures the way the API reports them (`left`)."""

    def __init__(self, room: Room) -> None:
        self.room, self.left = room, []

    def take(self, room_id: str, name: str, now: float) -> int:
        return self.room.add_avatar(name, now, external=True).id

    def release(self, room_id: str, avatar_id: int, now: float) -> None:
        self.room.remove_avatar(avatar_id)
        self.left.append(avatar_id)


def test_an_idle_mocap_seat_is_released_and_taken_again_when_data_resumes():
    room = Room("shop", capacity=4)
    seats = RoomSeats(room)
    reg = MocapSources(lambda room_id, avatar_id, hips, rots, now: room.apply_external_pose(avatar_id, now, hips,
                                                                                              rots), seats)
    sid, key = reg.create()
    first = seats.take("shop", "dancer", 0.0)
    reg.bind(sid, "shop", first, avatar_name="dancer", now=0.0)
    assert reg.feed_datagram(packet(key, 0.0), ADDR, 1.0) == 1
    assert room.tick(1.0).appeared == [first]
    reg.tick(1.0 + IDLE - 0.5)
    assert first in room.avatars and seats.left == []  # not idle for long enough yet
    reg.tick(1.0 + IDLE + 0.5)
    assert first not in room.avatars and seats.left == [first]  # the avatar left the room
    src = reg.sources[sid]
    assert src.bound and not src.seated and src.room_id == "shop"  # source and binding remain
    assert reg.metrics()["seats_released_idle"] == 1 and reg.metrics()["sources_seated"] == 0
    reg.tick(1.0 + 3 * IDLE)
    assert seats.left == [first]  # released once
    # The performer streams again: a seat is taken, with the bound name, and appears to the room.
    assert reg.feed_datagram(packet(key, 5.0), ADDR, 2000.0) == 1
    again = src.avatar_id
    assert again is not None and room.avatars[again].name == "dancer" and room.avatars[again].external
    assert again in room.tick(2000.0).appeared


def test_a_full_room_refuses_the_seat_and_the_source_retries_later():
    room = Room("shop", capacity=1)
    seats = RoomSeats(room)
    reg = MocapSources(Recorder(), seats)
    sid, key = reg.create()
    reg.bind(sid, "shop", None, now=0.0)  # bound without a seat, as after a restart
    room.add_avatar("shopper", 0.0)
    assert reg.feed_datagram(packet(key, 0.0), ADDR, 1.0) == 0
    assert reg.feed_datagram(packet(key, 0.1), ADDR, 1.1) == 0  # no second try within SEAT_RETRY_S
    assert reg.counters["dropped_no_seat"] == 2
    room.remove_avatar(next(iter(room.avatars)))
    assert reg.feed_datagram(packet(key, 0.2), ADDR, 2.5) == 1 and reg.sources[sid].seated


@pytest.fixture
def mocap_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PLAZA_MOCAP_UDP_PORT", "off")
    monkeypatch.setenv("PLAZA_MOCAP_BVH_DIR", str(tmp_path / "clips"))
    (tmp_path / "clips").mkdir()
    return tmp_path


def settings(tmp_path, persist: bool = True) -> Settings:
    return Settings(data_dir=str(tmp_path / "var"), operator_token="op-token", persist_state=persist)


def test_the_api_releases_an_idle_seat_with_a_left_message_to_the_room(mocap_env):
    app = create_app(settings(mocap_env, persist=False))
    with TestClient(app, headers=OPERATOR) as client:
        sid = client.post("/api/mocap/sources", json={"name": "stage"}).json()["source_id"]
        # no data at all after the bind: the seat's idle clock runs from the bind
        avatar = client.post(f"/api/mocap/sources/{sid}/bind", json={"room_id": "main", "avatar_name": "host"}
                             ).json()["avatar_id"]
        services = app.state.plaza
        room = services.rooms.get("main")
        room.avatars[avatar].visible = True  # as after its first pose
        sent = []
        services.hub.broadcast = lambda room_id, message, exclude=None: sent.append((room_id, message))
        src = services.mocap.ingest.sources[sid]
        services.mocap.ingest.tick(src.active_at + IDLE + 1)
        assert avatar not in room.avatars and sent == [("main", {"t": "left", "avatar": avatar})]
        info = client.get("/api/mocap/sources").json()[0]
        assert (info["room_id"], info["avatar_id"], info["seated"], info["avatar_name"]) == ("main", None, False,
                                                                                            "host")


def test_sources_their_keys_and_bindings_survive_a_restart(mocap_env):
    with TestClient(create_app(settings(mocap_env)), headers=OPERATOR) as client:
        created = client.post("/api/mocap/sources", json={"name": "stage"}).json()
        sid, key = created["source_id"], created["key"]
        r = client.post(f"/api/mocap/sources/{sid}/bind", json={"room_id": "main", "avatar_name": "host",
                                                                 "height_m": 1.8, "origin": [1, 0, 2]})
        assert r.status_code == 200
        other = client.post("/api/mocap/sources", json={"name": "spare"}).json()["source_id"]
    stored = (mocap_env / "var" / "mocap_sources.json")
    assert stored.stat().st_mode & 0o077 == 0 and key not in stored.read_text()  # owner-only, key hash only

    app = create_app(settings(mocap_env))  # a new process on the same data directory
    with TestClient(app, headers=OPERATOR) as client:
        listed = {s["source_id"]: s for s in client.get("/api/mocap/sources").json()}
        assert set(listed) == {sid, other}
        assert (listed[sid]["name"], listed[sid]["room_id"], listed[sid]["height_m"], listed[sid]["origin"]) == (
            "stage", "main", 1.8, [1.0, 0.0, 2.0])
        assert listed[sid]["seated"] is False and listed[other]["room_id"] is None
        ingest = app.state.plaza.mocap.ingest
        assert ingest.feed_datagram(packet(key, 0.0), ADDR, 5.0) == 1  # the old key works, a seat is taken
        assert ingest.sources[sid].seated and ingest.counters["dropped_bad_key"] == 0
        assert client.delete(f"/api/mocap/sources/{other}").status_code == 200

    with TestClient(create_app(settings(mocap_env)), headers=OPERATOR) as client:
        assert [s["source_id"] for s in client.get("/api/mocap/sources").json()] == [sid]


def test_without_persist_state_nothing_is_written(mocap_env):
    with TestClient(create_app(settings(mocap_env, persist=False)), headers=OPERATOR) as client:
        assert client.post("/api/mocap/sources", json={}).status_code == 201
    assert not (mocap_env / "var" / "mocap_sources.json").exists()


@pytest.mark.parametrize("name", ["\u202eevil", "a\u200bb", "nul\x00", "esc\x1b[31m", "line\nbreak", "x" * 40, " "])
def test_performer_names_follow_the_display_name_rules(mocap_env, name):
    with TestClient(create_app(settings(mocap_env, persist=False)), headers=OPERATOR) as client:
        sid = client.post("/api/mocap/sources", json={}).json()["source_id"]
        r = client.post(f"/api/mocap/sources/{sid}/bind", json={"room_id": "main", "avatar_name": name})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.avatar_name"
        assert r.json()["errors"][0]["code"] == "invalid_name"
        assert client.post("/api/mocap/sources", json={"name": name}).status_code == 422
        r = client.post(f"/api/mocap/sources/{sid}/bind", json={"room_id": "main", "avatar_name": "  Ana  Lu "})
        assert r.status_code == 200
        assert client.get("/api/mocap/sources").json()[0]["avatar_name"] == "Ana Lu"


@pytest.mark.parametrize(("file", "status"), [
    ("clip\x00.bvh", 400), ("a\x01.bvh", 400), ("\x7f.bvh", 400), ("sub/clip.bvh", 400), ("..\\clip.bvh", 400),
    ("é" * 200 + ".bvh", 400), ("missing.bvh", 404), ("clip.txt", 400),
])
def test_bad_playback_file_names_are_4xx_not_500(mocap_env, file, status):
    with TestClient(create_app(settings(mocap_env, persist=False)), headers=OPERATOR) as client:
        sid = client.post("/api/mocap/sources", json={}).json()["source_id"]
        assert client.post(f"/api/mocap/sources/{sid}/bind", json={"room_id": "main"}).status_code == 200
        r = client.post(f"/api/mocap/sources/{sid}/playback", json={"file": file})
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("body", "status"), [
    ({"room_id": "main", "height_m": 1e308}, 400), ({"room_id": "main", "origin": [1e308, 0, 0]}, 400),
    ({"room_id": "main", "yaw_deg": -1e308}, 200), ({"room_id": "x" * 129}, 422),
    ({"room_id": "main", "origin": [1, 2]}, 422), ({"room_id": "\ud800"}, 400),
    ({"room_id": "main", "height_m": "1.8"}, 422), ({"room_id": "main", "origin": [0, "1", 0]}, 422),
])
def test_bind_answers_absurd_numbers_and_sizes_with_4xx(mocap_env, body, status):
    with TestClient(create_app(settings(mocap_env, persist=False)), headers=OPERATOR) as client:
        sid = client.post("/api/mocap/sources", json={}).json()["source_id"]
        raw = json.dumps(body).encode()  # ASCII escapes: a lone surrogate travels as \\ud800
        r = client.post(f"/api/mocap/sources/{sid}/bind", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == status, r.text
