"""End to end: the real server on a loopback port, VMC over UDP (the sender tool on a real clip, and a known
pose), a reference client in the room receives the performer's body within the codec's error bounds."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request

import numpy as np
import pytest

from server.config import Settings
from server.mocap.fk import body_fk, body_offsets
from server.mocap.ingest import KEY_ADDRESS
from server.mocap.osc import encode_message, timetag_from_seconds
from server.mocap.vmc import encode_body_bundle
from server.realtime.quantize import quat_angle_deg
from sim import mocap_sender
from sim.client import PlazaClient
from tests.conftest import LiveServer, free_port
from tests.test_mocap_bvh import CLIPS, DATA, needs_clips

OPERATOR_TOKEN = "e2e-operator-token"


def http_json(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    """JSON over HTTP as the store's operator (the mocap API denies everyone else)."""
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method=method,
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {OPERATOR_TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
async def mocap_server(monkeypatch, tmp_path):
    monkeypatch.setenv("PLAZA_MOCAP_UDP_PORT", "0")  # a free UDP port; the API reports it
    monkeypatch.setenv("PLAZA_MOCAP_BVH_DIR", str(DATA))
    port = free_port()
    server = LiveServer(Settings(port=port, data_dir=str(tmp_path), allowed_origins=(f"http://127.0.0.1:{port}",),
                                 operator_token=OPERATOR_TOKEN))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _bound_source(server) -> tuple[str, str, int, int]:
    status, src = await asyncio.to_thread(http_json, "POST", f"{server.url}/api/mocap/sources", {"name": "host"})
    assert status == 201, src
    status, bound = await asyncio.to_thread(
        http_json, "POST", f"{server.url}/api/mocap/sources/{src['source_id']}/bind",
        {"room_id": "main", "avatar_name": "host", "origin": [1.0, 0.0, 2.0]})
    assert status == 200, bound
    return src["source_id"], src["key"], src["udp_port"], bound["avatar_id"]


async def _wait_body(viewer: PlazaClient, avatar_id: int, until, timeout: float = 5.0):
    async def loop():
        while True:
            await viewer.next_snapshot()
            pose = viewer.session.pose_of(avatar_id)
            if pose is not None and pose.body_rots is not None and until(pose):
                return pose
    return await asyncio.wait_for(loop(), timeout)


async def test_vmc_pose_reaches_a_client_within_codec_bounds(mocap_server):
    viewer = await PlazaClient.join(mocap_server.url, name="viewer")
    try:
        _, key, udp_port, avatar_id = await _bound_source(mocap_server)
        rng = np.random.default_rng(5)
        rots = rng.normal(size=(22, 4))
        rots /= np.linalg.norm(rots, axis=1, keepdims=True)
        rots[0] = [0.0, 0.0, 0.0, 1.0]  # upright hips so the head stays inside the store
        hips = np.array([0.3, 0.95, -0.2])
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        key_msg = encode_message(KEY_ADDRESS, [key])
        for i in range(10):
            pkt = encode_body_bundle(hips, rots, body_offsets(1.70), timetag_from_seconds(1e9 + i / 60), i / 60,
                                     [key_msg])
            sock.sendto(pkt, ("127.0.0.1", udp_port))
            await asyncio.sleep(1 / 60)
        sock.close()
        pose = await _wait_body(viewer, avatar_id, lambda p: True)
        # the binding's origin (1, 0, 2) moves the performer onto the stage
        np.testing.assert_allclose(pose.parts["body"][0], hips + [1.0, 0.0, 2.0], atol=0.0015)
        assert quat_angle_deg(pose.body_rots, rots).max() < 0.25
        _, counters = await asyncio.to_thread(http_json, "GET", f"{mocap_server.url}/api/mocap/counters")
        assert counters["poses"] == 10 and counters.get("rejected_by_room", 0) == 0
        # bad input is dropped, counted and visible on /metrics
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.sendto(b"#bundle\x00garbage!\x00\x00\x00\x07", ("127.0.0.1", udp_port))  # element size 7
        sock.sendto(encode_message("/VMC/Ext/T", [1.0]), ("127.0.0.1", udp_port))
        sock.close()
        text = ""
        for _ in range(100):
            text = await asyncio.to_thread(
                lambda: __import__("urllib.request").request.urlopen(f"{mocap_server.url}/metrics").read().decode())
            if "plaza_mocap_dropped_malformed 1" in text and "plaza_mocap_dropped_unknown_sender 1" in text:
                break
            await asyncio.sleep(0.02)
        assert "plaza_mocap_dropped_malformed 1" in text and "plaza_mocap_poses 10" in text
        assert "plaza_mocap_dropped_unknown_sender 1" in text
    finally:
        await viewer.close()


@needs_clips
async def test_sender_tool_streams_a_real_clip_that_a_client_sees_move(mocap_server):
    viewer = await PlazaClient.join(mocap_server.url, name="viewer")
    try:
        source_id, key, udp_port, avatar_id = await _bound_source(mocap_server)
        clip = str(DATA / CLIPS[0])
        sender = asyncio.create_task(asyncio.to_thread(
            mocap_sender.main, ["--bvh", clip, "--to", f"127.0.0.1:{udp_port}", f"--key={key}", "--seconds", "4"]))
        first = await _wait_body(viewer, avatar_id, lambda p: True)
        first_pos, _ = body_fk(first.parts["body"][0], first.body_rots)
        # the walk moves the body: some joint travels more than 5 cm within the stream
        moved = await _wait_body(
            viewer, avatar_id,
            lambda p: np.abs(body_fk(p.parts["body"][0], p.body_rots)[0] - first_pos).max() > 0.05)
        assert moved.body_rots.shape == (22, 4)
        assert await sender == 0
        _, counters = await asyncio.to_thread(http_json, "GET", f"{mocap_server.url}/api/mocap/counters")
        assert counters["poses"] >= 60 and counters.get("dropped_malformed", 0) == 0
        # the operator stops the source: the seat leaves the room
        status, _ = await asyncio.to_thread(http_json, "POST", f"{mocap_server.url}/api/mocap/sources/{source_id}/stop")
        assert status == 200
        assert mocap_server.app.state.plaza.rooms.get("main").avatars.get(avatar_id) is None
    finally:
        await viewer.close()


@needs_clips
async def test_server_side_bvh_playback_drives_an_avatar(mocap_server):
    viewer = await PlazaClient.join(mocap_server.url, name="viewer")
    try:
        source_id, _, _, avatar_id = await _bound_source(mocap_server)
        status, reply = await asyncio.to_thread(
            http_json, "POST", f"{mocap_server.url}/api/mocap/sources/{source_id}/playback", {"file": CLIPS[2]})
        assert status == 200, reply
        assert reply["duration_s"] == pytest.approx(719 / 24, rel=1e-3)
        pose = await _wait_body(viewer, avatar_id, lambda p: True)
        pos, _ = body_fk(pose.parts["body"][0], pose.body_rots)
        assert 1.3 < pos[5, 1] < 1.7  # an idle performer's head, on a 1.70 m avatar
    finally:
        await viewer.close()
