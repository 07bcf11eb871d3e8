"""The store looks like a room: image-based light on its materials, a sun with shadows drawn once (not every
frame), and a ceiling overhead instead of sky."""

from __future__ import annotations

from tests.browser.conftest import wait_frames


def test_image_based_light_shadows_and_a_ceiling(new_page, server_url) -> None:
    page = new_page()
    page.goto(f"{server_url}/?net=0")
    page.wait_for_function("window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)", timeout=60000)
    assert page.evaluate("window.plaza.errors") == []
    wait_frames(page, 3)
    look = page.evaluate("""(() => {
        const T = plaza.THREE;
        const env = plaza.scene.environment;
        const casters = []; plaza.scene.traverse((o) => { if (o.isMesh && o.castShadow) casters.push(o.name); });
        // Straight up from the shopper's eye: the store's ceiling, a little above the lamps.
        const ray = new T.Raycaster(plaza.camera.getWorldPosition(new T.Vector3()), new T.Vector3(0, 1, 0));
        const up = ray.intersectObject(plaza.store.root, true)[0];
        return {env: Boolean(env && env.isTexture), envMapped: env === plaza.lighting.environment,
                shadows: plaza.renderer.shadowMap.enabled, autoUpdate: plaza.renderer.shadowMap.autoUpdate,
                pending: plaza.renderer.shadowMap.needsUpdate, sun: plaza.lighting.sun?.castShadow === true,
                casters: casters.length, ceilingAt: up ? up.point.y : null,
                ceilingName: up ? `${up.object.name} ${up.object.material?.name ?? ''}` : null};
    })()""")
    assert look["env"] and look["envMapped"], look  # PMREM-filtered RoomEnvironment
    assert look["shadows"] and look["sun"] and look["casters"] > 10, look
    # Drawn when something changed, not every frame: once what loads late (models, signs) is in, no update
    # stays pending from one frame to the next.
    assert look["autoUpdate"] is False, look
    page.wait_for_function("!plaza.renderer.shadowMap.needsUpdate", timeout=30000)
    wait_frames(page, 3)
    assert page.evaluate("plaza.renderer.shadowMap.needsUpdate") is False
    assert look["ceilingAt"] is not None and 2.6 < look["ceilingAt"] < 5, look
    # Picking up a product asks for one shadow redraw.
    product_id = page.evaluate("plaza.nearestProductInView()")
    page.evaluate(f"plaza.products.inspect('{product_id}')")
    assert page.evaluate("plaza.renderer.shadowMap.needsUpdate") is True
    wait_frames(page, 2)
    assert page.evaluate("plaza.renderer.shadowMap.needsUpdate") is False
    assert page.errors == []


def test_every_priced_product_has_a_price_tag_over_it(new_page, server_url) -> None:
    page = new_page()
    page.goto(f"{server_url}/?net=0")
    page.wait_for_function("window.plaza && (window.plaza.ready || window.plaza.errors.length > 0)", timeout=60000)
    wait_frames(page, 3)
    tags = page.evaluate("""(() => {
        const T = plaza.THREE;
        const out = {};
        for (const [id, item] of plaza.products.items) {
            const tag = plaza.priceTags.tags.get(id);
            const box = new T.Box3().setFromObject(item.object);
            const at = tag ? tag.getWorldPosition(new T.Vector3()) : null;
            const centre = box.getCenter(new T.Vector3());
            out[id] = {priced: item.product.priceMinor !== null, tag: Boolean(tag),
                       above: at ? at.y > box.max.y : false,
                       over: at ? Math.hypot(at.x - centre.x, at.z - centre.z) : null};
        }
        return out;
    })()""")
    assert len(tags) >= 10
    for product_id, tag in tags.items():
        if tag["priced"]:
            assert tag["tag"] and tag["above"] and tag["over"] < 0.05, (product_id, tag)
    # Picked up, the product leaves its tag on the shelf (hidden until it is put back).
    product_id = next(iter(tags))
    page.evaluate(f"plaza.products.inspect('{product_id}')")
    assert page.evaluate(f"plaza.priceTags.tags.get('{product_id}').visible") is False
    page.evaluate("plaza.products.putBack()")
    assert page.evaluate(f"plaza.priceTags.tags.get('{product_id}').visible") is True
    assert page.errors == []
