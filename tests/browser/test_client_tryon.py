"""Try-on in the browser: a shirt's panel opens the try-on, height and weight give a size, the mannequin wears
the shirt, and the size switcher re-fits the garment (scale and fit colours) in the scene. "More measurements"
adds age, shoulders, neck, foot length..., a fit remark says what it did, and a mirror that stands to the side
is brought into view (the desktop view turns; a headset gets a hint instead)."""

from __future__ import annotations

import itertools
import math
import re

from tests.browser.conftest import wait_frames

SHIRT = "oxford-shirt-men"
PANEL_FONT = "26px system-ui, sans-serif"  # ui/panel.js draws text and button labels in this font
TITLE_FONT = "bold 38px system-ui, sans-serif"  # and titles in this one


def _open_tryon_by_mouse(new_page, server_url: str, query: str = "net=0"):  # type: ignore[no-untyped-def]
    """A store page walked to the shirt (as "Show me" does), its try-on opened with the panel's button."""
    page = new_page({"width": 480, "height": 360})
    page.gl_errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: "GL_INVALID" in m.text and page.gl_errors.append(m.text))  # type: ignore[attr-defined]
    page.goto(f"{server_url}/?{query}")
    page.wait_for_function("window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)", timeout=60000)
    assert page.evaluate("window.plaza.errors") == []
    assert page.evaluate(f"plaza.products.items.has('{SHIRT}')"), "the default store has no shirt"
    page.evaluate(f"plaza.simplified.onShow('{SHIRT}')")
    wait_frames(page, 2)
    return page


def _cut_off(page, panel: str, prefix: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    """Labels of a panel's widgets (ids starting with `prefix`) too wide for their widget in the panel's font:
    the panel would draw them cut short with "…"."""
    return list(page.evaluate("""([panel, prefix, font, titleFont]) => {
        const ctx = document.createElement('canvas').getContext('2d');
        return plaza.panels.get(panel).widgets.filter((w) => w.id.startsWith(prefix)).filter((w) => {
            ctx.font = w.kind === 'title' ? titleFont : font;
            return ctx.measureText(String(w.label)).width > w.rect[2];
        }).map((w) => w.label);
    }""", [panel, prefix, PANEL_FONT, TITLE_FONT]))


def _joined(page, panel: str, prefix: str) -> str:  # type: ignore[no-untyped-def]
    """The text a panel shows in the lines whose ids start with `prefix`, joined back into one string."""
    return str(page.evaluate("""([panel, prefix]) => plaza.panels.get(panel).widgets
        .filter((w) => w.id.startsWith(prefix)).map((w) => w.label).join(' ')""", [panel, prefix]))


def _view_angle_to_mannequin(page) -> float:  # type: ignore[no-untyped-def]
    """Degrees between where the camera looks and the mannequin's chest: three's own world transforms."""
    return float(page.evaluate("""() => {
        const T = plaza.THREE;
        const eye = plaza.camera.getWorldPosition(new T.Vector3());
        const forward = plaza.camera.getWorldDirection(new T.Vector3());
        const chest = plaza.tryon.root.localToWorld(new T.Vector3(0, 1.25, 0));
        return T.MathUtils.radToDeg(forward.angleTo(chest.sub(eye)));
    }"""))


def _click(page, panel: str, widget: str) -> None:  # type: ignore[no-untyped-def]
    """Looks at a panel button (the viewport is tiny) and clicks it with the mouse, as a desktop shopper does."""
    page.evaluate(f"""() => {{
        const T = plaza.THREE;
        const p = plaza.panels.get('{panel}');
        const [x, y, w, h] = p.widgets.find((w) => w.id === '{widget}').rect;
        plaza.camera.lookAt(p.mesh.localToWorld(new T.Vector3((x + w / 2) / p.widthPx - 0.5,
                                                              0.5 - (y + h / 2) / p.heightPx, 0)));
    }}""")
    wait_frames(page, 1)
    x, y = page.evaluate(f"plaza.panelWidgetScreen('{panel}', '{widget}')")
    page.mouse.click(x, y)


def _drag(page, dx: float, dy: float) -> None:  # type: ignore[no-untyped-def]
    """Mouse-look: a drag across the middle of the canvas, in steps above the click-or-drag threshold (6 px)."""
    steps = max(1, int(max(abs(dx), abs(dy)) // 10))
    page.mouse.move(240, 180)
    page.mouse.down()
    page.mouse.move(240 + dx, 180 + dy, steps=steps)
    page.mouse.up()


def _look_at_and_click(page, panel: str, widget: str) -> None:  # type: ignore[no-untyped-def]
    """As a desktop shopper: mouse-look until the button is in the middle of the view, then click it."""
    dyaw, dpitch = page.evaluate(f"""() => {{
        const T = plaza.THREE;
        const p = plaza.panels.get('{panel}');
        const [x, y, w, h] = p.widgets.find((w) => w.id === '{widget}').rect;
        const target = p.mesh.localToWorld(new T.Vector3((x + w / 2) / p.widthPx - 0.5,
                                                         0.5 - (y + h / 2) / p.heightPx, 0));
        const to = target.sub(plaza.camera.getWorldPosition(new T.Vector3())).normalize();
        const f = plaza.camera.getWorldDirection(new T.Vector3());
        const yaw = (v) => Math.atan2(-v.x, -v.z);
        return [T.MathUtils.euclideanModulo(yaw(to) - yaw(f) + Math.PI, 2 * Math.PI) - Math.PI,
                Math.asin(to.y) - Math.asin(f.y)];
    }}""")
    _drag(page, -dyaw / 0.005, -dpitch / 0.005)  # controls.js: LOOK_SPEED 0.005 rad per px, dragging moves the view
    wait_frames(page, 1)
    x, y = page.evaluate(f"plaza.panelWidgetScreen('{panel}', '{widget}')")
    assert 0 < x < 480 and 0 < y < 360, (x, y)
    page.mouse.click(x, y)


def _assert_mirror_in_the_clear(page) -> None:  # type: ignore[no-untyped-def]
    """The mannequin stands on walkable floor and nothing drawn (store model, fixtures, products) is hit by rays
    from the eye to a grid over the mannequin or to either panel: three's raycaster on the scene, not the
    placement maths. (With the old fixed spot the shirts on the rack block the mannequin's rays.)"""
    found = page.evaluate("""() => {
        const T = plaza.THREE;
        const spot = plaza.tryon.state().spot;
        const eye = plaza.camera.getWorldPosition(new T.Vector3());
        // Rays to a grid over the mannequin (head to shins, shoulder to shoulder) and to each panel's centre.
        const targets = {form: [plaza.panels.get('tryon').mesh.getWorldPosition(new T.Vector3())],
            result: [plaza.panels.get('tryon-result').mesh.getWorldPosition(new T.Vector3())], mannequin: []};
        for (const y of [0.3, 0.6, 0.9, 1.2, 1.5]) {
            for (const x of [-0.18, 0, 0.18]) {
                targets.mannequin.push(plaza.tryon.root.localToWorld(new T.Vector3(x, y, 0)));
            }
        }
        // The drawn store (its glTF model or the built boxes) and every product; only the floor is left out.
        const blockers = [...plaza.store.root.children.filter((o) => o.name !== 'walkable-floor'),
                          ...[...plaza.products.items.values()].map((i) => i.object)];
        const hits = {};
        for (const [name, points] of Object.entries(targets)) {
            hits[name] = [];
            for (const t of points) {
                const dir = t.clone().sub(eye);
                const ray = new T.Raycaster(eye, dir.clone().normalize(), 0, dir.length());
                const hit = ray.intersectObjects(blockers, true)[0];
                let o = hit?.object;
                while (o && !o.name) o = o.parent;
                if (hit) hits[name].push(o?.name ?? 'something');
            }
        }
        return {spot, walkable: plaza.store.walkable.isWalkable(spot.x, spot.z), hits};
    }""")
    assert found["walkable"], found
    assert not found["spot"]["fallback"], found
    assert found["hits"] == {"mannequin": [], "form": [], "result": []}, found


def test_try_on_a_shirt_recommends_a_size_and_switching_sizes_refits_it(new_page, server_url, output_dir) -> None:
    # Walk to the shirt and open its panel; "Try on" is on it because it has a size chart.
    page = _open_tryon_by_mouse(new_page, server_url)
    # On a screen the product card is HTML: its "Try on" button is clicked like any page button.
    page.click("#product-card button[data-id='tryon']")
    page.wait_for_function("plaza.panels.get('tryon') !== null", timeout=20000)
    page.wait_for_function("!plaza.tryon.state().turning", timeout=30000)  # clicks below aim at still panels
    wait_frames(page, 2)

    # Height and weight only; no consent, so nothing may be stored.
    page.evaluate("plaza.tryon.setValue('stature', 180); plaza.tryon.setValue('weight', 80)")
    _click(page, "tryon", "submit")
    page.wait_for_function("plaza.tryon.state().garment !== null || plaza.tryon.state().messages.length > 0",
                           timeout=30000)
    state = page.evaluate("plaza.tryon.state()")
    assert state["messages"] == [], state["messages"]
    expected = page.evaluate(f"""fetch('/api/sizing/recommend', {{method: 'POST', headers: {{'content-type':
        'application/json'}}, body: JSON.stringify({{body: {{stature: 180, weight: 80}}, product_id: '{SHIRT}'}})}})
        .then((r) => r.json())""")
    assert state["size"] == expected["size"]
    assert state["mannequin"] and not state["stored"]
    result = page.evaluate("plaza.panels.get('tryon-result').widgets.map((w) => w.label)")
    assert f"Size {expected['size']}" in result
    assert any(f"Runner-up: {expected['runner_up']}" in str(label) for label in result), result
    assert any("chest:" in str(label) and "cm" in str(label) for label in result), result
    # Every line and button label fits its widget (wrapped, or the buttons split into rows). The API's sentence
    # is there without what the panel's own lines already say (its "M (79% sure)." and "Fit: ..." list), so no
    # figure is shown twice: each region is named on one line only.
    assert _cut_off(page, "tryon-result") == []
    rest = re.sub(r"\s*Fit: [^.]*\.", "", re.sub(r"^\S+ \(\d+% sure\)\.\s*", "", expected["sentence"])).strip()
    assert _joined(page, "tryon-result", "sentence") == rest
    labels = page.evaluate("plaza.panels.get('tryon-result').widgets.map((w) => w.label)")
    shown = " ".join(str(label) for label in labels)
    for region in ("chest", "waist", "neck"):
        assert shown.lower().count(region) == 1, (region, shown)
    _assert_mirror_in_the_clear(page)
    # The recommended size wears the API's own colours.
    by_region = {g["region"]: g["colour"] for g in expected["avatar"]["garment"]}
    assert state["garment"]["colours"]["chest"] == by_region["chest"]
    # "Add size M to bag" right on the result: the bag gets the shirt in the recommended size.
    add = page.evaluate("plaza.panels.get('tryon-result').widgets.find((w) => w.id === 'addtobag')?.label")
    assert add == f"Add size {expected['size']} to bag"
    _click(page, "tryon-result", "addtobag")
    page.wait_for_function("plaza.panels.get('tryon-result').widgets.some((w) => String(w.label) ==="
                           " 'Added to your bag.')", timeout=30000)
    bag = page.evaluate("fetch('/api/bag', {headers: {'X-Shopper-Key': plaza.shopApi.key}}).then((r) => r.json())")
    sizes = [v["options"].get("size") for v in page.evaluate(f"fetch('/api/products/{SHIRT}').then((r) => r.json())")
             ["variants"] if v["id"] == bag["lines"][0]["variant_id"]]
    assert [li["product_id"] for li in bag["lines"]] == [SHIRT] and sizes == [expected["size"]], (bag, sizes)

    # Switch to the largest size with the switcher: the garment grows around the chest and turns "loose" blue.
    largest = page.evaluate("plaza.tryon.result.chart.labels.at(-1)")
    _click(page, "tryon-result", f"size:{largest}")
    page.wait_for_function(f"plaza.tryon.state().selected === '{largest}'", timeout=20000)
    wait_frames(page, 2)
    switched = page.evaluate("plaza.tryon.state()")
    assert switched["garment"]["scales"]["chest"] > state["garment"]["scales"]["chest"] * 1.1
    assert switched["garment"]["box"][0] > state["garment"]["box"][0]
    assert switched["garment"]["colours"]["chest"] == "#4575b4"
    assert switched["garment"]["colours"] != state["garment"]["colours"]
    showing = _joined(page, "tryon-result", "showing")
    assert showing == f"We recommend {expected['size']}; the mannequin wears {largest}."
    # The title follows the size on the mannequin.
    title = page.evaluate("plaza.panels.get('tryon-result').widgets.find((w) => w.id === 'size').label")
    assert title == f"Size {largest}"
    assert _cut_off(page, "tryon-result") == []
    page.evaluate("plaza.camera.lookAt(plaza.tryon.root.localToWorld(new plaza.THREE.Vector3(0, 1.2, 0)))")
    wait_frames(page, 2)
    page.screenshot(path=str(output_dir / "tryon.png"))

    # "More measurements", clicked with the mouse, shows the optional fields; a field is picked and stepped by
    # mouse too (the foot by half centimetres), and the line under it says how to measure it.
    widgets = "plaza.panels.get('tryon').widgets.map((w) => w.id)"
    assert "field:neck" not in page.evaluate(widgets)  # the first screen stays short
    _click(page, "tryon", "more")
    page.wait_for_function("plaza.panels.get('tryon').widgets.some((w) => w.id === 'field:neck')", timeout=20000)
    assert {"field:age", "field:shoulder", "field:neck", "field:foot_length", "field:chest"} <= set(
        page.evaluate(widgets))
    _click(page, "tryon", "field:foot_length")
    _click(page, "tryon", "step:0.5")
    _click(page, "tryon", "step:0.5")
    assert page.evaluate("plaza.tryon.form.values.foot_length") == 26
    howto = page.evaluate("plaza.panels.get('tryon').widgets.find((w) => w.id === 'howto').label")
    assert "heel" in howto, howto
    # Every label and how-to line fits its widget in the panel's font (nothing cut off with "…").
    too_wide = page.evaluate("""async (font) => {
        const { FIELDS } = await import('/client/tryon/measurements.js');
        const ctx = document.createElement('canvas').getContext('2d');
        ctx.font = font;
        const saved = {...plaza.tryon.form.values};
        const out = [];
        for (const f of FIELDS) {
            for (const value of [null, f.max]) {
                plaza.tryon.setValue(f.name, value);
                const w = plaza.panels.get('tryon').widgets;
                for (const id of [`field:${f.name}`, 'howto']) {
                    const widget = w.find((x) => x.id === id);
                    if (ctx.measureText(widget.label).width > widget.rect[2]) out.push(widget.label);
                }
            }
        }
        for (const [name, value] of Object.entries(saved)) plaza.tryon.setValue(name, value);
        return out;
    }""", PANEL_FONT)
    assert too_wide == [], too_wide
    page.evaluate("""plaza.tryon.setValue('age', 41); plaza.tryon.setValue('shoulder', 45);
                     plaza.tryon.setValue('neck', 40); plaza.tryon.setValue('foot_length', 27.5)""")
    assert page.evaluate("plaza.tryon.state().messages") == []

    # With consent, the result panel asks how the worn size fits; a remark reaches the stored profile.
    page.evaluate("plaza.tryon.press('consent').then(() => plaza.tryon.press('submit'))")
    page.wait_for_function("plaza.tryon.state().stored && !plaza.tryon.busy", timeout=30000)
    # the panel is rebuilt on the next frame: wait for its widgets, not just the state. The region list follows
    # the chart's order as the API sends it, so the first (preselected) one may be the sleeve: pick the chest.
    page.wait_for_function(
        "plaza.panels.get('tryon-result').widgets.some((w) => w.id === 'fbregion:chest')", timeout=30000)
    _click(page, "tryon-result", "fbregion:chest")
    labels = page.evaluate("plaza.panels.get('tryon-result').widgets.map((w) => w.label)")
    assert {"Too tight", "Fits", "Too loose"} <= set(labels), labels
    worn = page.evaluate("plaza.tryon.state().selected")
    assert _joined(page, "tryon-result", "fb:title") == f"Worn size {worn}? Tell us how it fits:"
    assert _cut_off(page, "tryon-result") == []  # the region buttons and the large verdict buttons too
    page.evaluate("plaza.tryon.press('fbregion:sleeve')")  # the shirt's own length: short / long
    labels = page.evaluate("plaza.panels.get('tryon-result').widgets.map((w) => w.label)")
    assert {"Too short", "Fits", "Too long"} <= set(labels), labels
    assert _cut_off(page, "tryon-result") == []
    stored = page.evaluate("""(() => { const p = JSON.parse(localStorage.getItem('plaza.sizing.profile'));
        return fetch(`/api/sizing/profiles/${p.profile_id}`, {headers: {'x-owner-key': p.owner_key}})
          .then((r) => r.json()); })()""")
    # The optional measurements reached the API (and, with consent, the profile) under the Body's names.
    assert {k: stored["measurements"].get(k) for k in ("age", "shoulder", "neck", "foot_length")} == {
        "age": 41, "shoulder": 45, "neck": 40, "foot_length": 27.5}, stored["measurements"]

    def remark(region: str, verdict: str) -> str:
        """Sends a remark like a shopper (region, then verdict) and returns the note the result panel shows."""
        page.evaluate("plaza.tryon.feedbackNote = null")
        page.evaluate(f"plaza.tryon.press('fbregion:{region}').then(() => plaza.tryon.press('fb:{verdict}'))")
        page.wait_for_function("plaza.tryon.state().feedbackNote !== null && !plaza.tryon.busy", timeout=30000)
        note = page.evaluate("plaza.tryon.state().feedbackNote")
        shown = page.evaluate("""plaza.panels.get('tryon-result').widgets.filter((w) => w.id.startsWith('fbnote'))
            .map((w) => w.label).join(' ')""")
        assert shown == note, (shown, note)  # all of it is on the panel...
        assert _cut_off(page, "tryon-result") == []  # ...and no line is cut short with "…"
        return str(note)

    # The chest was not measured: the answer says what the remark did to its estimate.
    estimated = remark("chest", "too_tight")
    assert "chest" in estimated and "measured" not in estimated, estimated
    assert "We still recommend" in estimated or "We now recommend" in estimated, estimated
    # The neck was measured: a remark does not move it, and the panel says so instead of seeming to do nothing.
    measured = remark("neck", "too_tight")
    assert "neck" in measured and "measured" in measured, measured
    assert measured != estimated
    stored = page.evaluate("""(() => { const p = JSON.parse(localStorage.getItem('plaza.sizing.profile'));
        return fetch(`/api/sizing/profiles/${p.profile_id}`, {headers: {'x-owner-key': p.owner_key}})
          .then((r) => r.json()); })()""")
    assert [(f["verdict"], f["region"]) for f in stored["feedback"]] == [
        ("too_tight", "chest"), ("too_tight", "neck")], stored
    page.evaluate("plaza.tryon.press('forget')")
    assert page.errors == []
    assert page.gl_errors == []  # a panel that grew re-uploads its texture instead of overflowing the old one


def test_a_mirror_to_the_side_turns_the_desktop_view_smoothly_and_mouse_look_still_works(
        new_page, server_url, output_dir) -> None:
    page = _open_tryon_by_mouse(new_page, server_url)
    # Record the rig's yaw (what the view turn and mouse-look both change) every frame.
    page.evaluate("plaza.yaws = []; plaza.onFrame = () => plaza.yaws.push(plaza.rig.rotation.y)")
    # The shopper clicks "Try on" on the product card (HTML, beside the product).
    page.click("#product-card button[data-id='tryon']")
    page.evaluate("plaza.yaws = []")
    page.wait_for_function("plaza.panels.get('tryon') !== null", timeout=20000)
    spot = page.evaluate("plaza.tryon.state().spot")
    # The rack with the shirts stands straight ahead, so the mirror goes to the side, out of a 30 degree cone.
    assert not spot["fallback"] and abs(spot["angleDeg"]) > 30, spot
    page.wait_for_function("!plaza.tryon.state().turning", timeout=30000)
    wait_frames(page, 2)
    assert _view_angle_to_mannequin(page) < 30
    yaws = page.evaluate("plaza.yaws")
    steps = [b - a for a, b in itertools.pairwise(yaws) if abs(b - a) > 1e-9]
    total = sum(steps)
    # The turn went the mirror's way, over several frames, none doing half of it (so at least three frames: a
    # frame counts at most 0.1 s, and on a loaded machine the 0.3 s turn takes only three slow frames).
    assert math.copysign(1, total) == math.copysign(1, spot["angleDeg"]), (steps, spot)
    assert max(abs(s) for s in steps) < 0.5 * abs(total), steps
    page.screenshot(path=str(output_dir / "tryon-turned.png"))

    # Mouse-look after the turn carries on from the turned view: 100 px right turns right by 100 x 0.005 rad,
    # 40 px down looks down by 0.2 rad from the pitch the turn left, and nothing pulls the view back.
    before = page.evaluate("[plaza.rig.rotation.y, plaza.camera.rotation.x]")
    _drag(page, 100, 40)
    wait_frames(page, 3)
    after = page.evaluate("[plaza.rig.rotation.y, plaza.camera.rotation.x]")
    assert math.isclose(after[0] - before[0], -0.5, abs_tol=1e-6), (before, after)
    assert math.isclose(after[1] - before[1], -0.2, abs_tol=1e-6), (before, after)
    assert page.errors == []


def test_in_a_headset_the_view_never_turns_a_hint_points_to_the_mirror_instead(new_page, server_url) -> None:
    page = _open_tryon_by_mouse(new_page, server_url, "emulate=quest3&net=0")
    assert page.evaluate("plaza.enterVR()") is True
    wait_frames(page, 3, "xrFrames")
    yaw = page.evaluate("plaza.rig.rotation.y")
    page.evaluate(f"plaza.tryon.open(plaza.products.items.get('{SHIRT}').product)")
    wait_frames(page, 4, "xrFrames")
    state = page.evaluate("plaza.tryon.state()")
    assert abs(state["spot"]["angleDeg"]) > 30, state["spot"]
    assert page.evaluate("plaza.rig.rotation.y") == yaw  # the page did not turn the shopper's view
    side = "left" if state["spot"]["angleDeg"] > 0 else "right"
    assert state["hint"] is not None and (side in state["hint"] or "behind" in state["hint"]), state
    shown = page.evaluate("""() => {
        const T = plaza.THREE;
        const panel = plaza.panels.get('tryon-hint');
        const to = panel.mesh.getWorldPosition(new T.Vector3()).sub(plaza.camera.getWorldPosition(new T.Vector3()));
        return {label: panel.widgets[0].label,
                angle: T.MathUtils.radToDeg(plaza.camera.getWorldDirection(new T.Vector3()).angleTo(to))};
    }""")
    assert shown["label"] == state["hint"] and shown["angle"] < 25, shown  # where the shopper is looking
    # The shopper turns their own head to the mirror: the hint has done its job and goes away.
    look = page.evaluate("""async () => {
        const T = plaza.THREE;
        const head = (await plaza.device.remote.dispatch('get_transform', {device: 'headset'})).position;
        const eye = new T.Vector3(head.x, head.y, head.z);
        const target = plaza.rig.worldToLocal(plaza.tryon.root.localToWorld(new T.Vector3(0, 1.25, 0)));
        const q = new T.Quaternion().setFromRotationMatrix(new T.Matrix4().lookAt(eye, target, new T.Vector3(0, 1, 0)));
        return {x: q.x, y: q.y, z: q.z, w: q.w};
    }""")
    page.evaluate("(q) => plaza.device.remote.dispatch('set_transform', {device: 'headset', orientation: q})", look)
    page.wait_for_function("plaza.panels.get('tryon-hint') === null", timeout=30000)
    assert _view_angle_to_mannequin(page) < 30
    assert page.evaluate("plaza.rig.rotation.y") == yaw
    assert page.errors == []



def _stored_profile(page):  # type: ignore[no-untyped-def]
    """The export of the profile this page remembers (its owner key from localStorage, as the page sends it)."""
    return page.evaluate("""(() => { const p = JSON.parse(localStorage.getItem('plaza.sizing.profile'));
        return fetch(`/api/sizing/profiles/${p.profile_id}`, {headers: {'x-owner-key': p.owner_key}})
          .then((r) => r.json()); })()""")


def _chest_figure(page) -> float:  # type: ignore[no-untyped-def]
    """The body chest the result panel shows ("chest: you 95.4 cm, +4.6 cm regular")."""
    line = _joined(page, "tryon-result", "fit:chest:")
    match = re.match(r"chest: you (\d+(?:\.\d)?) cm,", line)
    assert match, line
    return float(match.group(1))


def test_a_usual_size_in_tops_is_sent_moves_the_estimate_and_is_remembered(new_page, server_url) -> None:
    page = _open_tryon_by_mouse(new_page, server_url)
    sent: list[tuple[str, object]] = []
    page.on("request", lambda r: "/api/sizing/" in r.url and r.method == "POST"
            and sent.append((r.url.split("/api/sizing")[1], r.post_data_json)))
    page.evaluate(f"plaza.tryon.open(plaza.products.items.get('{SHIRT}').product)")
    page.wait_for_function("plaza.panels.get('tryon') !== null && !plaza.tryon.state().turning", timeout=30000)
    wait_frames(page, 2)

    def submit() -> None:
        page.evaluate("plaza.tryon.press('submit')")
        page.wait_for_function("plaza.tryon.result !== null && !plaza.tryon.busy", timeout=30000)
        assert page.evaluate("plaza.tryon.state().messages.filter((m) => !m.includes('remembered'))") == []

    def recommends() -> list[object]:
        return [body for path, body in sent if path == "/recommend"]

    # A woman of 165 cm and 62 kg, nothing else: "don't know" is the usual size, nothing about it is sent.
    page.evaluate("""plaza.tryon.setValue('stature', 165); plaza.tryon.setValue('weight', 62);
                     plaza.tryon.press('sex:female')""")
    submit()
    assert "usual_sizes" not in recommends()[-1], recommends()
    chest_alone = _chest_figure(page)

    # "More measurements" shows "Usual size in tops" (first, full width) with the chart's own sizes as choices;
    # the shopper clicks it and M with the mouse (panel buttons: rays, pokes and pinches work the same in VR).
    page.evaluate("plaza.tryon.press('more')")
    page.wait_for_function("plaza.panels.get('tryon').widgets.some((w) => w.id === 'field:usual')", timeout=20000)
    wait_frames(page, 2)
    labels = page.evaluate("plaza.panels.get('tryon').widgets.map((w) => w.label)")
    assert "Usual size in tops: don't know" in labels, labels
    _click(page, "tryon", "field:usual")
    page.wait_for_function("plaza.panels.get('tryon').widgets.some((w) => w.id === 'usual:M')", timeout=20000)
    chart = page.evaluate("fetch('/api/sizing/charts/tops-unisex').then((r) => r.json())")
    choices = page.evaluate("""plaza.panels.get('tryon').widgets.filter((w) => w.id.startsWith('usual:'))
        .map((w) => w.label)""")
    assert choices == [s["label"] for s in chart["sizes"]] + ["Don't know"], choices
    assert choices[:7] == ["XS", "S", "M", "L", "XL", "XXL", "3XL"]
    cut = _cut_off(page, "tryon")
    assert cut == [], cut
    _click(page, "tryon", "usual:M")
    page.wait_for_function("plaza.tryon.form.usual === 'M'", timeout=20000)
    assert "Usual size in tops: M" in page.evaluate("plaza.panels.get('tryon').widgets.map((w) => w.label)")
    submit()
    assert recommends()[-1]["usual_sizes"] == [{"chart_id": "tops-unisex", "size": "M"}], recommends()[-1]
    # Strong evidence: M on tops-unisex (chest 96-104 cm) pulls her estimated chest up by centimetres.
    chest_usual = _chest_figure(page)
    assert chest_usual > chest_alone + 2, (chest_alone, chest_usual)
    # The mannequin is built from the same evidence: /estimate carries the usual size too.
    estimates = [body for path, body in sent if path == "/estimate"]
    assert estimates[-1]["usual_sizes"] == [{"chart_id": "tops-unisex", "size": "M"}], estimates[-1]
    assert abs(page.evaluate("plaza.tryon.result.estimate.chest") - chest_usual) < 0.1
    assert _cut_off(page, "tryon-result") == []

    # With consent the profile is created with it, and the server keeps it as a "fits" remark.
    page.evaluate("plaza.tryon.press('consent')")
    submit()
    assert page.evaluate("plaza.tryon.state().stored")
    assert recommends()[-1]["consent"] is True
    assert recommends()[-1]["usual_sizes"] == [{"chart_id": "tops-unisex", "size": "M"}]
    remarks = [(f["chart_id"], f["size"], f["verdict"], f["region"]) for f in _stored_profile(page)["feedback"]]
    assert remarks == [("tops-unisex", "M", "fits", None)], remarks

    # It survives closing and reopening the form: it comes back from the stored profile, "More" open.
    page.evaluate("plaza.tryon.close()")
    page.evaluate(f"plaza.tryon.open(plaza.products.items.get('{SHIRT}').product)")
    page.wait_for_function("plaza.panels.get('tryon') !== null", timeout=20000)
    assert page.evaluate("plaza.tryon.form.usual") == "M"
    labels = page.evaluate("plaza.panels.get('tryon').widgets.map((w) => w.label)")
    assert "Usual size in tops: M" in labels, labels
    # Submitting again neither sends it twice nor stores it twice; a changed one is added as a remark once.
    submit()
    assert "usual_sizes" not in recommends()[-1]
    page.evaluate("plaza.tryon.press('field:usual').then(() => plaza.tryon.press('usual:L'))")
    submit()
    submit()
    remarks = [(f["chart_id"], f["size"], f["region"]) for f in _stored_profile(page)["feedback"]]
    assert remarks == [("tops-unisex", "M", None), ("tops-unisex", "L", None)], remarks
    assert _chest_figure(page) > chest_usual  # L on top of M: larger again
    page.evaluate("plaza.tryon.close()")
    page.evaluate(f"plaza.tryon.open(plaza.products.items.get('{SHIRT}').product)")
    page.wait_for_function("plaza.panels.get('tryon') !== null", timeout=20000)
    assert page.evaluate("plaza.tryon.form.usual") == "L"
    page.evaluate("plaza.tryon.press('forget')")
    assert page.errors == []

# Renders one panel alone, face on, filling the page's canvas, reads the pixels back and returns the share of
# points on a grid whose colour is the panel canvas's own there (blended over the black clear colour): what
# the GPU shows, not what the canvas holds. A texture left at its first size shows its old contents stretched.
_SHOWS_CANVAS = """(id) => {
    const T = plaza.THREE;
    const r = plaza.renderer;
    const panel = plaza.panels.get(id);
    const mesh = panel.mesh;
    const [parent, position, quaternion] = [mesh.parent, mesh.position.clone(), mesh.quaternion.clone()];
    const alone = new T.Scene();
    mesh.position.set(0, 0, 0);
    mesh.quaternion.identity();
    alone.add(mesh);
    const [sx, sy] = [mesh.scale.x, mesh.scale.y];
    const camera = new T.OrthographicCamera(-sx / 2, sx / 2, sy / 2, -sy / 2, 0.1, 10);
    camera.position.z = 1;
    r.setRenderTarget(null);
    r.render(alone, camera);
    const gl = r.getContext();
    const [W, H] = [gl.drawingBufferWidth, gl.drawingBufferHeight];
    const shown = new Uint8Array(W * H * 4);
    gl.readPixels(0, 0, W, H, gl.RGBA, gl.UNSIGNED_BYTE, shown); // same task as the render: still there
    parent.add(mesh);
    mesh.position.copy(position);
    mesh.quaternion.copy(quaternion);
    const [cw, ch] = [panel.canvas.width, panel.canvas.height];
    const drawn = panel.canvas.getContext('2d').getImageData(0, 0, cw, ch).data;
    const at = (x, y) => 4 * (Math.min(ch - 1, Math.max(0, y)) * cw + Math.min(cw - 1, Math.max(0, x)));
    // Only points inside a flat patch of the canvas: at text and button edges filtering blends neighbours.
    const d = 2 * Math.ceil(Math.max(cw / W, ch / H)) + 2;
    const flat = (x, y) => [[-d, 0], [d, 0], [0, -d], [0, d], [-d, -d], [d, d]].every(([dx, dy]) =>
        [0, 1, 2, 3].every((k) => drawn[at(x + dx, y + dy) + k] === drawn[at(x, y) + k]));
    let same = 0;
    let n = 0;
    for (let i = 1; i < 32; i += 1) {
        for (let j = 1; j < 32; j += 1) {
            const [u, v] = [i / 32, j / 32];
            const [x, y] = [Math.floor(u * cw), Math.floor((1 - v) * ch)];
            if (!flat(x, y)) continue;
            const s = 4 * (Math.floor(v * H) * W + Math.floor(u * W)); // GL rows run bottom-up
            const c = at(x, y);
            const a = drawn[c + 3] / 255;
            const diff = Math.max(...[0, 1, 2].map((k) => Math.abs(shown[s + k] - drawn[c + k] * a)));
            same += diff <= 24 ? 1 : 0;
            n += 1;
        }
    }
    return {share: same / n, points: n, canvas: [cw, ch]};
}"""


def test_a_panel_that_grows_shows_its_new_contents_at_its_new_size(new_page, server_url) -> None:
    page = new_page({"width": 320, "height": 240})
    gl_errors: list[str] = []
    page.on("console", lambda m: "GL_INVALID" in m.text and gl_errors.append(m.text))
    page.goto(f"{server_url}/?net=0")
    page.wait_for_function("window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)", timeout=60000)
    # A short panel in front of the camera, drawn (and its texture uploaded) for a few frames.
    page.evaluate("""async () => {
        const { Panel } = await import('/client/ui/panel.js');
        const T = plaza.THREE;
        const panel = plaza.panels.add(new Panel({ id: 'grow', width: 0.5,
            items: [{ id: 'title', kind: 'title', label: 'Short' }] }));
        const forward = plaza.camera.getWorldDirection(new T.Vector3());
        panel.mesh.position.copy(plaza.camera.getWorldPosition(new T.Vector3()).addScaledVector(forward, 1.2));
        panel.mesh.lookAt(plaza.camera.getWorldPosition(new T.Vector3()));
    }""")
    wait_frames(page, 3)
    short = page.evaluate(_SHOWS_CANVAS, "grow")
    assert short["share"] > 0.9 and short["points"] > 200, short
    # It grows: six rows of buttons below the title (the tall rows a form gets with "More measurements"), labels
    # short enough to stay two a row at the simplified scale too (a longer one splits its row: taller still, and
    # the panel would no longer fit this tiny view).
    page.evaluate("""plaza.panels.get('grow').setItems([{ id: 'title', kind: 'title', label: 'Tall' },
        ...[0, 1, 2, 3, 4, 5].flatMap((r) => [0, 1].map((k) => ({ id: `b${r}${k}`, kind: 'button',
            label: `B${r}${k}`, row: `r${r}` })))])""")
    wait_frames(page, 3)
    tall = page.evaluate(_SHOWS_CANVAS, "grow")
    assert tall["canvas"][1] > 3 * short["canvas"][1], (short, tall)
    assert tall["share"] > 0.9 and tall["points"] > 200, tall
    # The simplified mode scales every panel up: it grows again.
    page.evaluate("plaza.simplified.set(true)")
    wait_frames(page, 3)
    large = page.evaluate(_SHOWS_CANVAS, "grow")
    assert large["canvas"][1] > tall["canvas"][1], (tall, large)
    assert large["share"] > 0.9 and large["points"] > 200, large
    assert gl_errors == [], gl_errors[:3]
    assert page.errors == []
