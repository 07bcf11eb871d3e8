"""Mocap ingest: binding and security, BVH playback, VMC over a real UDP socket, the operator HTTP API."""

from __future__ import annotations

import asyncio
import math
import socket
import time
import types

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from server.clock import Clock
from server.config import Settings
from server.mocap import api as mocap_api
from server.mocap.bvh import parse_bvh
from server.mocap.fk import body_fk, body_offsets, quat_angle
from server.mocap.ingest import KEY_ADDRESS, BindOptions, MocapInputError, MocapSources
from server.mocap.osc import encode_bundle, encode_message, timetag_from_seconds
from server.mocap.udp import start_udp_listener
from server.mocap.vmc import encode_body_bundle
from server.net import problems
from server.net.app import create_app
from server.realtime.skeleton import BODY_INDEX
from sim import mocap_sender
from tests.test_mocap_bvh import ARMS_DOWN, _bvh_from_tree

ADDR = ("127.0.0.1", 50000)


class Recorder:
    def __init__(self, fail_with: Exception | None = None) -> None:
        self.calls: list[tuple] = []
        self.fail_with = fail_with

    def __call__(self, room_id, avatar_id, hips, rots, now) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append((room_id, avatar_id, np.array(hips), np.array(rots), now))


def pose(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(22, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return np.array([0.2, 0.93, -0.4]), q * np.where(q[:, 3:] < 0, -1, 1)


def packet(key: str | None, t: float = 0.0, seed: int = 1) -> bytes:
    hips, rots = pose(seed)
    extra = [encode_message(KEY_ADDRESS, [key])] if key is not None else []
    return encode_body_bundle(hips, rots, body_offsets(1.70), timetag_from_seconds(1000 + t), t, extra)


def test_keyed_source_must_be_bound_and_gets_the_pose():
    sink = Recorder()
    reg = MocapSources(sink)
    sid, key = reg.create("stage")
    assert reg.feed_datagram(packet(key), ADDR, 1.0) == 0
    assert reg.counters["dropped_unbound"] == 1
    reg.bind(sid, "room-a", 7)
    assert reg.feed_datagram(packet(key, 0.1), ADDR, 2.0) == 1
    room, avatar, hips, rots, now = sink.calls[-1]
    want_hips, want_rots = pose()
    assert (room, avatar, now) == ("room-a", 7, 2.0)
    np.testing.assert_allclose(hips, want_hips, atol=1e-5)
    assert np.all(quat_angle(rots, want_rots) < 1e-5)


def test_unauthorised_packets_are_dropped_by_reason():
    sink = Recorder()
    reg = MocapSources(sink)
    sid, key = reg.create("pinned", allow_addr="127.0.0.1:50000")
    reg.bind(sid, "r", 1)
    reg.feed_datagram(packet("not-the-key"), ADDR, 0.0)
    reg.feed_datagram(packet(None), ("10.0.0.9", 4000), 0.0)  # keyless, from an address nobody pinned
    reg.feed_datagram(packet(key), ("127.0.0.1", 50001), 0.0)  # right key, wrong sender for this source
    reg.feed_datagram(b"garbage!", ADDR, 0.0)
    reg.feed_datagram(encode_bundle(1, [encode_message(KEY_ADDRESS, [3])]), ADDR, 0.0)
    assert sink.calls == []
    c = reg.counters
    assert (c["dropped_bad_key"], c["dropped_unknown_sender"], c["dropped_address_mismatch"],
            c["dropped_malformed"]) == (2, 1, 1, 1)
    # A keyless off-the-shelf VMC sender at the pinned address is accepted.
    assert reg.feed_datagram(packet(None, 0.2), ADDR, 0.0) == 1


def test_duplicates_rebind_stop_and_delete():
    sink = Recorder()
    reg = MocapSources(sink)
    sid, key = reg.create()
    assert reg.bind(sid, "r1", 1) is None
    p = packet(key, 0.5)
    assert reg.feed_datagram(p, ADDR, 0.0) == 1
    assert reg.feed_datagram(p, ADDR, 0.0) == 0
    assert reg.counters["dropped_duplicate"] == 1
    assert reg.bind(sid, "r2", 9) == ("r1", 1)  # the caller frees the old seat
    assert reg.feed_datagram(packet(key, 0.6), ADDR, 0.0) == 1 and sink.calls[-1][:2] == ("r2", 9)
    assert reg.stop(sid) == ("r2", 9)
    assert reg.feed_datagram(packet(key, 0.7), ADDR, 0.0) == 0 and reg.counters["dropped_unbound"] == 1
    reg.delete(sid)
    assert reg.feed_datagram(packet(key, 0.8), ADDR, 0.0) == 0 and reg.counters["dropped_bad_key"] == 1
    with pytest.raises(MocapInputError):
        reg.bind(sid, "r", 1)


def test_room_rejections_are_counted_not_raised():
    reg = MocapSources(Recorder(fail_with=ValueError("hips are outside the store's bounds")))
    sid, key = reg.create()
    reg.bind(sid, "r", 1)
    assert reg.feed_datagram(packet(key), ADDR, 0.0) == 0
    reg.sink = Recorder(fail_with=RuntimeError("bug in the room"))
    assert reg.feed_datagram(packet(key, 0.1), ADDR, 0.0) == 0
    assert reg.counters["rejected_by_room"] == 1 and reg.counters["sink_errors"] == 1


def test_placement_options_scale_move_and_turn_the_performer():
    sink = Recorder()
    reg = MocapSources(sink)
    sid, key = reg.create()
    reg.bind(sid, "r", 1, BindOptions(height_m=1.70 * 1.1, origin=(5.0, 0.0, 2.0), yaw_deg=90.0))
    reg.feed_datagram(packet(key), ADDR, 0.0)
    _, _, hips, rots, _ = sink.calls[-1]
    src_hips, src_rots = pose()
    # 10% taller: the sender's legs (1.70 m model) are scaled by 1.1; then +90 deg about +Y: (x, z) -> (z, -x).
    x, y, z = src_hips * 1.1
    np.testing.assert_allclose(hips, [5.0 + z, y, 2.0 - x], atol=1e-5)
    assert np.all(quat_angle(rots[1:], src_rots[1:]) < 1e-5)  # only the hips turn
    with pytest.raises(MocapInputError, match="height"):
        BindOptions(height_m=12.0)
    with pytest.raises(MocapInputError, match="origin"):
        BindOptions(origin=(math.nan, 0.0, 0.0))


def arms_down_clip():
    frames = []
    for i in range(31):  # one second at 30 Hz: the left arm rises from the side to horizontal
        f = [0.0] * (6 + 3 * (len(ARMS_DOWN) - 1))
        f[2] = i * 0.02 * 100  # walks forward 2 cm per frame (cm file)
        f[6 + 3 * 6] = 90.0 * i / 30
        frames.append(f)
    return parse_bvh(_bvh_from_tree(ARMS_DOWN, frames))


def test_bvh_playback_ticks_at_60_hz_and_loops():
    sink = Recorder()
    reg = MocapSources(sink)
    sid, _ = reg.create()
    reg.bind(sid, "r", 3, BindOptions(origin=(1.0, 0.0, 1.0)))
    duration = reg.start_playback(sid, arms_down_clip(), now=100.0)
    assert duration == pytest.approx(1.0, rel=1e-3)
    for k in range(61):
        reg.tick(100.0 + k / 60)
    assert len(sink.calls) == 61
    hips = np.array([c[2] for c in sink.calls])
    # starts on the stage origin and walks +Z at 0.6 m/s (2 cm per 1/30 s), resampled smoothly
    assert hips[0] == pytest.approx([1.0, 0.95, 1.0], abs=1e-6)
    assert np.diff(hips[:59, 2]) == pytest.approx(np.full(58, 0.6 / 60), abs=1e-6)
    # half way the left arm is at 45 degrees: hand between shoulder height and hanging
    pos, _ = body_fk(sink.calls[30][2], sink.calls[30][3])
    arm = pos[BODY_INDEX["leftLowerArm"]] - pos[BODY_INDEX["leftUpperArm"]]
    assert math.degrees(math.atan2(-arm[1], arm[0])) == pytest.approx(45.0, abs=0.5)
    reg.tick(100.0 + 1.5)  # looped: the second walk starts where the first ended, turned around: half way back
    assert sink.calls[-1][2][2] == pytest.approx(1.0 + 0.6 - 0.3, abs=1e-6)
    reg.stop(sid)
    assert reg.tick(102.0) == 0


def test_playback_without_binding_is_refused():
    reg = MocapSources(Recorder())
    sid, _ = reg.create()
    with pytest.raises(MocapInputError, match="bind"):
        reg.start_playback(sid, arms_down_clip(), 0.0)


async def test_vmc_over_real_udp_socket_reaches_the_sink():
    sink = Recorder()
    reg = MocapSources(sink)
    sid, key = reg.create()
    reg.bind(sid, "room", 4)
    transport, _ = await start_udp_listener(reg, "127.0.0.1", 0)
    port = transport.get_extra_info("sockname")[1]
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for i in range(5):
            sender.sendto(packet(key, i / 60, seed=i), ("127.0.0.1", port))
        sender.sendto(b"\x00bad", ("127.0.0.1", port))
        for _ in range(200):
            if len(sink.calls) == 5 and reg.counters["dropped_malformed"] == 1:
                break
            await asyncio.sleep(0.01)
    finally:
        sender.close()
        transport.close()
    assert len(sink.calls) == 5
    for i, (_, avatar, hips, rots, _) in enumerate(sink.calls):
        want_hips, want_rots = pose(i)
        assert avatar == 4
        np.testing.assert_allclose(hips, want_hips, atol=1e-5)
        assert np.all(quat_angle(rots, want_rots) < 1e-5)


async def test_sender_tool_drives_the_ingest_over_udp(tmp_path):
    clip_path = tmp_path / "raise.bvh"
    clip_path.write_text(_bvh_from_tree(ARMS_DOWN, [[0.0] * 69, [0.0] * 69]))
    sink = Recorder()
    reg = MocapSources(sink)
    sid, key = reg.create()
    reg.bind(sid, "room", 2)
    transport, _ = await start_udp_listener(reg, "127.0.0.1", 0)
    port = transport.get_extra_info("sockname")[1]
    try:
        rc = await asyncio.to_thread(mocap_sender.main, ["--bvh", str(clip_path), "--to", f"127.0.0.1:{port}",
                                                         f"--key={key}", "--rate", "120", "--seconds", "0.1", "--loop"])
        for _ in range(100):
            if len(sink.calls) >= 12:
                break
            await asyncio.sleep(0.01)
    finally:
        transport.close()
    assert rc == 0
    assert len(sink.calls) == 12  # 0.1 s at 120 Hz, none lost on loopback
    pos, _ = body_fk(sink.calls[-1][2], sink.calls[-1][3])
    arm = pos[BODY_INDEX["leftLowerArm"]] - pos[BODY_INDEX["leftUpperArm"]]
    assert arm / np.linalg.norm(arm) == pytest.approx([0, -1, 0], abs=1e-4)  # the rig's arms hang down


def test_sender_refuses_remote_destinations_and_bad_files(tmp_path, capsys):
    with pytest.raises(SystemExit):
        mocap_sender.main(["--bvh", "x.bvh", "--to", "192.168.1.5:39539", "--key", "k"])
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nnonsense\n")
    assert mocap_sender.main(["--bvh", str(bad), "--key", "k"]) == 1
    assert "cannot use" in capsys.readouterr().err


# ---- operator API against a fake room registry -------------------------------------------------------

class FakeRoom:
    def __init__(self) -> None:
        self.seats: dict[int, str] = {}
        self.poses: list[tuple] = []
        self.next_id = 1

    def add_external_avatar(self, name: str, now: float) -> int:
        self.next_id += 1
        self.seats[self.next_id] = name
        return self.next_id

    def apply_external_pose(self, avatar_id, now, hips_pos, body_rots) -> None:
        if avatar_id not in self.seats:
            raise ValueError("no such seat")
        self.poses.append((avatar_id, hips_pos, body_rots))

    def remove_external_avatar(self, avatar_id: int, now: float) -> None:
        del self.seats[avatar_id]


OPERATOR = {"Authorization": "Bearer op-token"}


def make_app(monkeypatch, tmp_path, rooms: dict | None) -> FastAPI:
    monkeypatch.setenv("PLAZA_MOCAP_UDP_PORT", "0")
    monkeypatch.setenv("PLAZA_MOCAP_BVH_DIR", str(tmp_path))
    app = FastAPI()
    settings = Settings(data_dir=str(tmp_path / "var"), operator_token="op-token")
    app.state.plaza = types.SimpleNamespace(settings=settings, clock=Clock())
    if rooms is not None:
        app.state.plaza.rooms = types.SimpleNamespace(get=rooms.get)
    problems.install(app)
    mocap_api.mount(app)
    return app


def test_api_create_bind_play_stop(monkeypatch, tmp_path):
    (tmp_path / "raise.bvh").write_text(_bvh_from_tree(ARMS_DOWN, [[0.0] * 69] * 3))
    room = FakeRoom()
    app = make_app(monkeypatch, tmp_path, {"shop": room})
    with TestClient(app, headers=OPERATOR) as client:
        created = client.post("/api/mocap/sources", json={"name": "host"}).json()
        sid, key, port = created["source_id"], created["key"], created["udp_port"]
        assert isinstance(port, int) and port > 0
        assert client.post(f"/api/mocap/sources/{sid}/playback", json={"file": "raise.bvh"}).status_code == 409
        assert client.post(f"/api/mocap/sources/{sid}/bind", json={"room_id": "nope"}).status_code == 404
        r = client.post(f"/api/mocap/sources/{sid}/bind", json={"room_id": "shop", "height_m": 1.8})
        assert r.status_code == 200
        first_seat = r.json()["avatar_id"]
        # Rebinding takes a new seat and frees the old one.
        second_seat = client.post(f"/api/mocap/sources/{sid}/bind", json={"room_id": "shop"}).json()["avatar_id"]
        assert first_seat not in room.seats and second_seat in room.seats
        for bad in ("../raise.bvh", "/etc/passwd", "raise.txt"):
            assert client.post(f"/api/mocap/sources/{sid}/playback", json={"file": bad}).status_code in (400, 404)
        r = client.post(f"/api/mocap/sources/{sid}/playback", json={"file": "raise.bvh"})
        assert r.status_code == 200, r.text
        assert client.post(f"/api/mocap/sources/{sid}/bind", json={"room_id": "shop", "height_m": 9}).status_code \
            == 400
        # The UDP listener of the app feeds the same registry.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(packet(key), ("127.0.0.1", port))
        s.close()
        for _ in range(100):
            counters = client.get("/api/mocap/counters").json()
            if counters.get("poses", 0) >= 1 and any(p[0] == second_seat for p in room.poses):
                break
            time.sleep(0.02)
        assert counters["sources_bound"] == 1 and counters["poses"] >= 1
        assert client.post(f"/api/mocap/sources/{sid}/stop").json() == {"source_id": sid, "stopped": True}
        assert second_seat not in room.seats
        assert client.delete(f"/api/mocap/sources/{sid}").status_code == 200
        assert client.post(f"/api/mocap/sources/{sid}/stop").status_code == 404


def test_api_without_rooms_answers_503(monkeypatch, tmp_path):
    app = make_app(monkeypatch, tmp_path, None)
    with TestClient(app, headers=OPERATOR) as client:
        sid = client.post("/api/mocap/sources", json={}).json()["source_id"]
        r = client.post(f"/api/mocap/sources/{sid}/bind", json={"room_id": "shop"})
        assert r.status_code == 503 and "room server" in r.json()["detail"]


def test_api_denies_by_default_without_the_operator_token(monkeypatch, tmp_path):
    app = make_app(monkeypatch, tmp_path, {"shop": FakeRoom()})
    with TestClient(app) as client:
        for method, url, body in (("POST", "/api/mocap/sources", {}), ("GET", "/api/mocap/sources", None),
                                  ("GET", "/api/mocap/counters", None),
                                  ("POST", "/api/mocap/sources/x/bind", {"room_id": "shop"})):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "op-token"}):
                r = client.request(method, url, json=body, headers=headers)
                assert r.status_code == 401, (method, url, headers)
                assert r.headers["www-authenticate"] == "Bearer" and r.json()["code"] == "unauthorized"
        assert client.get("/api/mocap/counters", headers=OPERATOR).status_code == 200
        assert client.get("/api/mocap/sources", headers=OPERATOR).json() == []  # nothing was created


def test_operator_token_from_the_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("PLAZA_OPERATOR_TOKEN", "from-env")
    monkeypatch.setenv("PLAZA_MOCAP_UDP_PORT", "off")
    app = create_app(Settings(data_dir=str(tmp_path)))
    with TestClient(app) as client:
        assert client.get("/api/mocap/counters").status_code == 401
        assert client.get("/api/mocap/counters", headers={"Authorization": "Bearer from-env"}).status_code == 200


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_any_datagram_is_counted_never_raised(data, keyed):
    reg = MocapSources(Recorder())
    sid, key = reg.create(allow_addr="127.0.0.1")
    reg.bind(sid, "r", 1)
    payload = encode_bundle(1, [encode_message(KEY_ADDRESS, [key]), data[: len(data) & ~3]]) if keyed else data
    reg.feed_datagram(payload, ADDR, 0.0)
    assert reg.counters["packets"] == 1
    assert sum(v for k, v in reg.counters.items() if k.startswith("dropped_")) + reg.counters["poses"] <= 1
