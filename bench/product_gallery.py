"""Look at the generated product models: renders chosen products (three-quarter view, the store's kind of
image-based light) into one PNG per run, test-output/products/<name>.png, in headless Chromium.

    python bench/product_gallery.py                       # every product, in pages of 12
    python bench/product_gallery.py smartphone-x tv-55    # just these

For looking, not for measuring: the models' sizes and validity are tested in tests/test_models.py."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

MODELS = REPO / "assets" / "generated" / "models"
THREE = REPO / "webxr_client" / "node_modules" / "three"
OUT = REPO / "test-output" / "products"
PER_PAGE = 12

PAGE = """<!doctype html><html><head><style>
body{margin:0;background:#dcd6cc;font:13px sans-serif;display:grid;grid-template-columns:repeat(4,320px)}
figure{margin:0;text-align:center} canvas{display:block}</style>
<script type="importmap">{"imports":{"three":"/three/build/three.module.js","three/addons/":"/three/examples/jsm/"}}
</script></head><body><script type="module">
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { RoomEnvironment } from 'three/addons/environments/RoomEnvironment.js';
const files = FILES;
const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
renderer.setSize(320, 260);
renderer.toneMapping = THREE.ACESFilmicToneMapping;
const env = new THREE.PMREMGenerator(renderer).fromScene(new RoomEnvironment(), 0.04).texture;
const loader = new GLTFLoader();
for (const [name, file] of files) {
  const gltf = await loader.loadAsync('/models/' + file);
  const scene = new THREE.Scene();
  scene.environment = env;
  scene.background = new THREE.Color(0xdcd6cc);
  const sun = new THREE.DirectionalLight(0xffffff, 1.2);
  sun.position.set(2, 4, 3);
  scene.add(sun, gltf.scene);
  const box = new THREE.Box3().setFromObject(gltf.scene);
  const size = box.getSize(new THREE.Vector3()).length();
  const centre = box.getCenter(new THREE.Vector3());
  const camera = new THREE.PerspectiveCamera(35, 320 / 260, size / 100, size * 10);
  camera.position.copy(centre).add(new THREE.Vector3(0.9, 0.55, 1.25).multiplyScalar(size * 1.05));
  camera.lookAt(centre);
  renderer.render(scene, camera);
  const img = new Image();
  img.src = renderer.domElement.toDataURL();
  const fig = document.createElement('figure');
  fig.append(img, Object.assign(document.createElement('figcaption'), { textContent: name }));
  document.body.append(fig);
  await img.decode();
}
window.done = true;
</script></body></html>"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main(wanted: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    manifest = json.loads((REPO / "assets" / "generated" / "manifest.json").read_text())["models"]
    names = wanted or sorted(manifest)
    unknown = [n for n in names if n not in manifest]
    if unknown:
        raise SystemExit(f"no such product: {', '.join(unknown)}")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "three").symlink_to(THREE)
        (root / "models").symlink_to(MODELS)
        server, url = _serve(root)
        pages = [names[i : i + PER_PAGE] for i in range(0, len(names), PER_PAGE)]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for k, chunk in enumerate(pages):
                (root / f"page{k}.html").write_text(
                    PAGE.replace("FILES", json.dumps([[n, manifest[n]["file"]] for n in chunk])))
                page = browser.new_page(viewport={"width": 1280, "height": 300 * ((len(chunk) + 3) // 4)})
                page.goto(f"{url}/page{k}.html")
                page.wait_for_function("window.done === true", timeout=180000)
                name = "-".join(chunk) if wanted and len(chunk) <= 3 else f"page{k + 1}"
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
                print(OUT / f"{name}.png")
                page.close()
            browser.close()
        server.shutdown()
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
