"""Avatars with bodies: a second shopper sees the first as a whole person (torso, arms, legs on the floor) at the
height the first one gave, whose feet step when it walks and who carries the product it picked up.

Height and held products travel as `profile` / `held` control messages (docs/PROTOCOL.md). A server without them
answers `unknown_type`: the sender must carry on unharmed, and this test then hands the viewer the broadcast the
server would have sent, so the drawing is still checked. Once the server has them the real broadcast is used.
"""

from __future__ import annotations

import math

import httpx

from tests.browser.conftest import wait_frames

READY = "window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)"


def _open(new_page, url: str, viewport=None):  # type: ignore[no-untyped-def]
    page = new_page(viewport)
    page.goto(url)
    page.wait_for_function(READY, timeout=60000)
    assert page.evaluate("window.plaza.errors") == []
    page.wait_for_function("window.plaza.room && window.plaza.room.connected", timeout=30000)
    return page


def _figure(page, avatar_id: int):  # type: ignore[no-untyped-def]
    return page.evaluate(f"plaza.avatars.figure({avatar_id})")


def _server_has(page, kind: str) -> bool:  # type: ignore[no-untyped-def]
    page.wait_for_function(f"plaza.room.features['{kind}'] !== undefined", timeout=30000)
    return bool(page.evaluate(f"plaza.room.features['{kind}']"))


def _broadcast(viewer, message: dict) -> None:  # type: ignore[no-untyped-def]
    """What the server sends the others (PROTOCOL.md), handed to the viewer's room client directly."""
    viewer.evaluate("(m) => { plaza.room.session.control(m); plaza.room.onControl(m); }", message)


def _stand_back_and_look(viewer, avatar_id: int, distance: float = 2.6) -> None:  # type: ignore[no-untyped-def]
    """The viewer steps back from the avatar (where the floor allows) and looks at it, so all of it is in view."""
    viewer.evaluate(f"""() => {{
        const h = plaza.avatars.figure({avatar_id}).head; const e = plaza.cameraWorldPosition();
        let dx = e[0] - h[0], dz = e[2] - h[2]; const n = Math.hypot(dx, dz) || 1; dx /= n; dz /= n;
        found: for (const d of [{distance}, 2.2, 1.8]) {{
          for (const a of [0, 0.5, -0.5, 1, -1, 1.6, -1.6, 3.1]) {{
            const c = Math.cos(a), s = Math.sin(a);
            const x = h[0] + d * (dx * c - dz * s), z = h[2] + d * (dx * s + dz * c);
            if (plaza.store.walkable.canTeleportTo(x, z) && plaza.teleportTo(x, z)) break found;
          }}
        }}
        const p = plaza.cameraWorldPosition(); const dir = plaza.camera.getWorldDirection(new plaza.THREE.Vector3());
        plaza.turnBy(Math.atan2(-(h[0] - p[0]), -(h[2] - p[2])) - Math.atan2(-dir.x, -dir.z));
        plaza.controls.hooks.look(0, -0.2); }}""")
    wait_frames(viewer, 3)


def test_a_second_shopper_sees_the_first_as_a_body_at_its_height(new_page, server_url, output_dir) -> None:
    room = httpx.post(f"{server_url}/api/rooms", json={"name": "bodies test"}).json()["id"]
    alice = _open(new_page, f"{server_url}/?room={room}&name=Alice&height=1.9")
    bob = _open(new_page, f"{server_url}/?room={room}&name=Bob", {"width": 480, "height": 360})
    alice_id = alice.evaluate("plaza.room.session.avatarId")

    # Alice's page told the room her height. This server has `profile` and `hold` (an older one would answer
    # unknown_type, which the page survives: the broadcasts below then stand in for the server's).
    has_profile = _server_has(alice, "profile")
    assert has_profile, "this repository's server relays profile"
    assert alice.evaluate("plaza.room.connected") is True
    assert "error" not in alice.evaluate("document.getElementById('status').textContent").lower()
    # On a screen her eyes are where a 1.90 m person has them.
    assert math.isclose(alice.evaluate("plaza.cameraWorldPosition()[1]"), 1.6 * 1.9 / 1.7, abs_tol=0.01)
    if not has_profile:
        _broadcast(bob, {"t": "profile", "avatar": alice_id, "height": 1.9})

    bob.wait_for_function(f"plaza.avatars.figure({alice_id})?.heightKnown === true", timeout=30000)
    bob.wait_for_function(f"plaza.avatars.figure({alice_id})?.kind === 'solved'", timeout=30000)
    _stand_back_and_look(bob, alice_id)
    fig = _figure(bob, alice_id)
    assert fig["visible"] and fig["height"] == 1.9
    joints = fig["joints"]
    assert joints is not None and len(joints) == 22
    # A person, not a floating head: toes on the floor, hips at leg height, the head where her eyes are.
    assert min(joints[17][1], joints[21][1]) < 0.08, joints
    assert 0.9 < joints[0][1] < 1.15
    assert math.isclose(fig["head"][1], 1.6 * 1.9 / 1.7, abs_tol=0.03)
    # Hanging arms: hands below the shoulders, each arm the length of a 1.90 m person's.
    for shoulder, elbow, hand in ((7, 8, 9), (11, 12, 13)):
        assert joints[hand][1] < joints[shoulder][1] - 0.3
        arm = math.dist(joints[shoulder], joints[elbow]) + math.dist(joints[elbow], joints[hand])
        assert math.isclose(arm, 0.52 * 1.9 / 1.7, rel_tol=0.01)
    bob.screenshot(path=str(output_dir / "avatar-body.png"))

    # Alice walks: her legs step in Bob's page; standing still, they stop.
    steps = fig["steps"]
    alice.evaluate("plaza.onFrame = () => plaza.moveBy(0.04, 0)")
    bob.wait_for_function(f"plaza.avatars.figure({alice_id}).steps >= {steps + 3}", timeout=60000)
    alice.evaluate("plaza.onFrame = null")
    wait_frames(bob, 10)
    settled = _figure(bob, alice_id)["steps"]
    wait_frames(bob, 10)
    assert _figure(bob, alice_id)["steps"] == settled

    # She picks up a product: Bob sees it in her hand, then gone when she puts it back.
    product = alice.evaluate("plaza.nearestProductInView() ?? [...plaza.products.items.keys()][0]")
    alice.evaluate(f"plaza.products.inspect('{product}')")
    assert _server_has(alice, "hold"), "this repository's server relays hold"
    if not _server_has(alice, "hold"):
        _broadcast(bob, {"t": "held", "avatar": alice_id, "product": product})
    bob.wait_for_function(f"plaza.avatars.figure({alice_id}).held?.product === '{product}'", timeout=30000)
    wait_frames(bob, 2)
    fig = _figure(bob, alice_id)
    assert math.dist(fig["held"]["at"], fig["joints"][13]) < 0.01  # in her right hand
    assert fig["joints"][13][1] > 1.0  # held up in front of her
    # Bob's copy of the product model has loaded by now: no stand-in box.
    bob.wait_for_function(f"plaza.avatars.figure({alice_id}).held.placeholder === false", timeout=30000)
    alice.evaluate("plaza.products.putBack()")
    if not _server_has(alice, "hold"):
        _broadcast(bob, {"t": "held", "avatar": alice_id, "product": None})
    bob.wait_for_function(f"plaza.avatars.figure({alice_id}).held === null", timeout=30000)
    assert alice.evaluate("plaza.room.connected") is True
    assert alice.errors == [] and bob.errors == []
    assert alice.evaluate("plaza.errors") == [] and bob.evaluate("plaza.errors") == []


def test_a_headset_shopper_reaches_their_controllers(new_page, server_url, output_dir) -> None:
    """The arms of a VR shopper's body end at the controllers the other page sees."""
    room = httpx.post(f"{server_url}/api/rooms", json={"name": "arms test"}).json()["id"]
    alice = _open(new_page, f"{server_url}/?room={room}&name=Alice&emulate=quest3")
    bob = _open(new_page, f"{server_url}/?room={room}&name=Bob")
    alice_id = alice.evaluate("plaza.room.session.avatarId")
    assert alice.evaluate("plaza.enterVR()") is True
    alice.evaluate("plaza.device.remote.dispatch('set_transform', {device: 'controller-right',"
                   " position: {x: 0.3, y: 1.2, z: -0.35}})")
    wait_frames(alice, 3, "xrFrames")
    bob.wait_for_function(f"plaza.avatars.figure({alice_id})?.kind === 'solved'", timeout=30000)
    bob.wait_for_function(f"""(() => {{ const f = plaza.avatars.figure({alice_id});
        const h = plaza.avatars.avatars.get({alice_id}).hands[1];
        return h.visible && Math.hypot(...f.joints[13].map((v, i) => v - h.position.getComponent(i))) < 0.01; }})()""",
                          timeout=30000)
    fig = _figure(bob, alice_id)
    assert min(fig["joints"][17][1], fig["joints"][21][1]) < 0.08
    assert alice.errors == [] and bob.errors == []
