"""Choosing a name and the headset menu.

In an emulated headset (IWER): the left controller's Y button summons the menu in front of the eyes, every
label readable; a suggested name is taken (the room is rejoined under it), the height is stepped, and pointing
the right controller at "Exit VR" and pulling the trigger ends the session. On a screen: the "You" panel sets
the name (checked with the server's rules first, refused in words) and the height; another page sees the name.
"""

from __future__ import annotations

import httpx

from tests.browser.conftest import wait_frames

READY = "window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)"
CUT_LABELS = """(id) => plaza.panels.get(id).widgets.filter((w) => !w.drawn
    || w.drawn.lines.join(' ') !== String(w.label) || w.drawn.fontScale < 0.8).map((w) => w.label)"""


def _open(new_page, url: str, viewport=None, **context):  # type: ignore[no-untyped-def]
    page = new_page(viewport)
    page.goto(url)
    page.wait_for_function(READY, timeout=60000)
    assert page.evaluate("window.plaza.errors") == []
    return page


def _aim_and_select(page, panel_id: str, widget_id: str) -> None:  # type: ignore[no-untyped-def]
    """Points the right controller at a panel button and pulls the trigger (the press acts on selectstart)."""
    aim = page.evaluate(f"""(() => {{
        const T = plaza.THREE; const panel = plaza.panels.get('{panel_id}');
        const w = panel.widgets.find((x) => x.id === '{widget_id}'); const [x, y, ww, wh] = w.rect;
        const target = plaza.rig.worldToLocal(panel.mesh.localToWorld(new T.Vector3((x + ww / 2) / panel.widthPx - 0.5,
            0.5 - (y + wh / 2) / panel.heightPx, 0)));
        const from = new T.Vector3(0.15, 1.3, -0.1);
        const look = new T.Matrix4().lookAt(from, target, new T.Vector3(0, 1, 0));
        const q = new T.Quaternion().setFromRotationMatrix(look);
        return {{position: {{x: from.x, y: from.y, z: from.z}}, orientation: {{x: q.x, y: q.y, z: q.z, w: q.w}}}};
    }})()""")
    page.evaluate("(a) => plaza.device.remote.dispatch('set_transform', {device: 'controller-right', ...a})", aim)
    page.wait_for_function(f"plaza.panels.get('{panel_id}')?.hoverId === '{widget_id}'", timeout=30000)
    page.evaluate("plaza.device.remote.dispatch('set_select_value', {device: 'controller-right', value: 1})")


def _in_vr(new_page, server_url: str, room_name: str, name: str):  # type: ignore[no-untyped-def]
    """A new room and a shopper in it in an emulated Quest 3, in VR: the page."""
    room = httpx.post(f"{server_url}/api/rooms", json={"name": room_name}).json()["id"]
    page = _open(new_page, f"{server_url}/?emulate=quest3&room={room}&name={name}", {"width": 480, "height": 360})
    page.wait_for_function("window.plaza.room && window.plaza.room.connected", timeout=30000)
    assert page.evaluate("plaza.enterVR()") is True
    wait_frames(page, 3, "xrFrames")
    return page


def test_the_headset_menu_names_sizes_and_exits(new_page, server_url, output_dir) -> None:
    page = _in_vr(new_page, server_url, "menu test", "Alice")
    # The wrist button rides the left controller.
    page.wait_for_function("plaza.xrMenu.wrist && plaza.xrMenu.wrist.mesh.parent !== null", timeout=30000)
    assert page.evaluate("plaza.xrMenu.wrist.mesh.parent === plaza.xrInput.active().find("
                         "(s) => s.inputSource.handedness === 'left').grip")
    assert page.evaluate("plaza.panels.get('xr-menu')") is None
    # Y on the left controller summons the menu (press and release).
    page.evaluate("plaza.device.remote.dispatch('set_gamepad_state', {device: 'controller-left',"
                  " buttons: [{index: 4, value: 1}]})")
    page.wait_for_function("plaza.xrMenu.open === true", timeout=30000)
    page.evaluate("plaza.device.remote.dispatch('set_gamepad_state', {device: 'controller-left',"
                  " buttons: [{index: 4, value: 0}]})")
    wait_frames(page, 3, "xrFrames")
    assert page.evaluate("plaza.xrMenu.open") is True and page.evaluate("plaza.xrMenu.presses") == 1
    geo = page.evaluate("""(() => { const T = plaza.THREE; const m = plaza.panels.get('xr-menu').mesh;
        const eye = plaza.camera.getWorldPosition(new T.Vector3()); const c = m.getWorldPosition(new T.Vector3());
        const normal = new T.Vector3(0, 0, 1).applyQuaternion(m.getWorldQuaternion(new T.Quaternion()));
        const d = c.distanceTo(eye);
        return {distance: d, facing: normal.dot(eye.clone().sub(c).normalize()),
                widthDeg: T.MathUtils.radToDeg(2 * Math.atan(m.scale.x / 2 / d)),
                ids: plaza.panels.get('xr-menu').widgets.map((w) => w.id)}; })()""")
    assert 0.6 < geo["distance"] < 1.1 and geo["facing"] > 0.95 and geo["widthDeg"] > 30, geo
    for wanted in ("exit", "simple", "name:use", "height:+5", "store:space-market", "close"):
        assert wanted in geo["ids"], geo["ids"]
    assert page.evaluate(CUT_LABELS, "xr-menu") == []
    page.screenshot(path=str(output_dir / "xr-menu.png"))

    # A new name from the suggestions: the room is rejoined under it.
    page.evaluate("plaza.panels.get('xr-menu').press('name:next')")
    wanted = page.evaluate("plaza.panels.get('xr-menu').widgets.find((w) => w.id === 'name:use').label.slice(3)")
    seat = page.evaluate("plaza.room.session.avatarId")
    page.evaluate("plaza.panels.get('xr-menu').press('name:use')")
    page.wait_for_function("plaza.xrMenu.message && plaza.xrMenu.message.startsWith('Others now see you')",
                           timeout=30000)
    # Renamed in place: the same seat (no leave and join again), under the new name
    assert page.evaluate("plaza.myName()") == wanted and page.evaluate("plaza.room.connected") is True
    assert page.evaluate("plaza.room.session.avatarId") == seat
    assert page.evaluate("localStorage.getItem('plaza.name')") == wanted
    # Height: +5 cm from the 1.70 m default.
    page.evaluate("plaza.panels.get('xr-menu').press('height:+5')")
    assert page.evaluate("plaza.ownHeight()") == 1.75
    assert page.evaluate(CUT_LABELS, "xr-menu") == []
    # Exit VR, with the controller's ray and trigger like a shopper.
    _aim_and_select(page, "xr-menu", "exit")
    page.wait_for_function("plaza.sessions.session === null", timeout=30000)
    assert page.evaluate("plaza.panels.get('xr-menu')") is None
    assert page.evaluate("plaza.panels.get('wrist-menu')") is None
    assert page.errors == [] and page.evaluate("plaza.errors") == []


def test_a_name_typed_on_a_screen_is_checked_and_seen_by_others(new_page, server_url, output_dir) -> None:
    room = httpx.post(f"{server_url}/api/rooms", json={"name": "name test"}).json()["id"]
    alice = _open(new_page, f"{server_url}/?room={room}", {"width": 390, "height": 844})
    alice.wait_for_function("window.plaza.room && window.plaza.room.connected", timeout=30000)
    assert alice.evaluate("plaza.room.session.welcome.name") == "Shopper"
    bob = _open(new_page, f"{server_url}/?room={room}&name=Bob")
    bob.wait_for_function("window.plaza.room && window.plaza.room.connected", timeout=30000)

    alice.click("#open-profile")
    box = alice.locator("#profile-panel").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] + box["height"] <= 844, box
    # A name with an invisible bidi override is refused before anything is sent.
    alice.fill("#profile-name", "bad\u202ename")
    alice.click("#profile-save")
    assert "invisible" in alice.text_content("#profile-message")
    assert alice.evaluate("document.getElementById('profile-message').classList.contains('error')")
    assert alice.evaluate("plaza.room.session.welcome.name") == "Shopper"
    # A good one (spaces collapsed), with a height.
    alice.fill("#profile-name", "Zoë   Smith")
    alice.fill("#profile-height", "182")
    seat = alice.evaluate("plaza.room.session.avatarId")
    alice.click("#profile-save")
    alice.wait_for_function("plaza.myName() === 'Zoë Smith'", timeout=30000)
    alice.wait_for_function("document.getElementById('profile-message').textContent.startsWith('Saved')",
                            timeout=30000)
    assert alice.evaluate("plaza.ownHeight()") == 1.82
    assert "Zoë Smith" in alice.text_content("#status")
    alice.screenshot(path=str(output_dir / "profile-phone.png"))
    alice_id = alice.evaluate("plaza.room.session.avatarId")
    assert alice_id == seat  # renamed in place: Bob never saw Alice leave
    bob.wait_for_function(f"plaza.room.session.roster.get({alice_id})?.name === 'Zoë Smith'", timeout=30000)
    # and the label over her avatar on Bob's page follows
    bob.wait_for_function(f"plaza.avatars.avatars.get({alice_id})?.label.userData.text === 'Zoë Smith'",
                          timeout=30000)
    # The name is remembered for the next visit.
    alice.reload()
    alice.wait_for_function(READY, timeout=60000)
    alice.wait_for_function("window.plaza.room && window.plaza.room.connected", timeout=30000)
    assert alice.evaluate("plaza.room.session.welcome.name") == "Zoë Smith"
    assert alice.errors == [] and bob.errors == []


def test_the_headset_map_takes_a_shopper_across_the_store_in_jumps_the_server_allows(new_page, server_url,
                                                                                      output_dir) -> None:
    """Menu -> "Store map": a directory panel in front of the eyes, every label whole; choosing the farthest place
    (beyond the 12 m a single teleport may go) brings the shopper there in several jumps, each one accepted by the
    server."""
    page = _open(new_page, f"{server_url}/?emulate=quest3&scene=launch-hall&name=Mapper", {"width": 480, "height": 360})
    page.wait_for_function("window.plaza.room && window.plaza.room.connected", timeout=30000)
    page.evaluate("""() => { window.__teleports = []; const room = plaza.room;
        const original = room.teleport.bind(room);
        room.teleport = (x, y, z) => {
            const p = original(x, y, z); p.then((a) => window.__teleports.push(a)); return p; }; }""")
    assert page.evaluate("plaza.enterVR()") is True
    wait_frames(page, 3, "xrFrames")
    page.evaluate("plaza.xrMenu.show()")
    _aim_and_select(page, "xr-menu", "map")
    page.wait_for_function("plaza.xrMap.open === true && plaza.panels.get('xr-map') !== undefined", timeout=30000)
    page.evaluate("plaza.device.remote.dispatch('set_select_value', {device: 'controller-right', value: 0})")
    wait_frames(page, 3, "xrFrames")
    assert page.evaluate("plaza.xrMenu.open") is False
    geo = page.evaluate("""(() => { const T = plaza.THREE; const m = plaza.panels.get('xr-map').mesh;
        const eye = plaza.camera.getWorldPosition(new T.Vector3()); const c = m.getWorldPosition(new T.Vector3());
        const normal = new T.Vector3(0, 0, 1).applyQuaternion(m.getWorldQuaternion(new T.Quaternion()));
        return {distance: c.distanceTo(eye), facing: normal.dot(eye.clone().sub(c).normalize())}; })()""")
    assert 0.6 < geo["distance"] < 1.1 and geo["facing"] > 0.95, geo
    assert page.evaluate(CUT_LABELS, "xr-map") == []
    page.screenshot(path=str(output_dir / "xr-map.png"))
    places = page.evaluate("""plaza.storeMap.places.map((p) => { const c = plaza.cameraWorldPosition();
        return {id: p.id, label: p.label, x: p.x, z: p.z, d: Math.hypot(p.x - c[0], p.z - c[2])}; })""")
    far = max(places, key=lambda p: p["d"])
    assert far["d"] > 12, places  # beyond one jump
    assert len(page.evaluate("plaza.panels.get('xr-map').widgets.filter((w) => w.id.startsWith('go:'))")) == len(places)
    _aim_and_select(page, "xr-map", f"go:{far['id']}")
    page.wait_for_function("plaza.hops >= 2", timeout=30000)
    page.evaluate("plaza.device.remote.dispatch('set_select_value', {device: 'controller-right', value: 0})")
    wait_frames(page, 3, "xrFrames")
    page.screenshot(path=str(output_dir / "xr-map-arrived.png"))
    here = page.evaluate("plaza.cameraWorldPosition()")
    assert ((here[0] - far["x"]) ** 2 + (here[2] - far["z"]) ** 2) ** 0.5 < 4, (here, far)
    answers = page.evaluate("window.__teleports")
    assert len(answers) >= 2 and all(a and a["t"] == "ok" for a in answers), answers
    assert page.evaluate("plaza.panels.get('xr-map')") is None
    assert page.errors == [] and page.evaluate("plaza.errors") == []


def test_without_a_left_controller_the_menu_button_floats_in_view(new_page, server_url) -> None:
    # Gaze-and-pinch only (Vision Pro without hand tracking), or a left controller that has gone to sleep:
    # no wrist to put the button on, so it floats low in the view, facing the eyes, and opens the menu.
    page = _in_vr(new_page, server_url, "no wrist", "Vee")
    page.wait_for_function("plaza.xrMenu.wrist && plaza.xrMenu.wrist.mesh.parent !== plaza.camera", timeout=30000)
    page.evaluate("plaza.device.controllers.left.connected = false")
    page.wait_for_function("plaza.xrMenu.wrist.mesh.parent === plaza.camera", timeout=30000)
    wait_frames(page, 3, "xrFrames")
    seen = page.evaluate("""(() => { const T = plaza.THREE; const m = plaza.xrMenu.wrist.mesh;
        const eye = plaza.camera.getWorldPosition(new T.Vector3()); const c = m.getWorldPosition(new T.Vector3());
        const ahead = new T.Vector3(0, 0, -1).applyQuaternion(plaza.camera.getWorldQuaternion(new T.Quaternion()));
        const normal = new T.Vector3(0, 0, 1).applyQuaternion(m.getWorldQuaternion(new T.Quaternion()));
        const to = c.clone().sub(eye).normalize();
        return {offAxisDeg: T.MathUtils.radToDeg(ahead.angleTo(to)), facing: -normal.dot(to),
                below: eye.y - c.y}; })()""")
    # Inside a headset's field of view (about 45 degrees off centre at most), below the eyes, facing them.
    assert seen["offAxisDeg"] < 30 and seen["below"] > 0.1 and seen["facing"] > 0.95, seen
    assert page.evaluate(CUT_LABELS, "wrist-menu") == []
    _aim_and_select(page, "wrist-menu", "menu")
    page.wait_for_function("plaza.xrMenu.open === true", timeout=30000)
    # The controller wakes up: the button goes back to its wrist.
    page.evaluate("plaza.device.remote.dispatch('set_select_value', {device: 'controller-right', value: 0})")
    page.evaluate("plaza.device.controllers.left.connected = true")
    page.wait_for_function("plaza.xrMenu.wrist.mesh.parent !== plaza.camera", timeout=30000)
