"""An order acknowledged to the shopper survives `kill -9` of the server and a restart, on both backends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from server.commerce.checkout import HOLD_S
from tests.conftest import free_port
from tests.storage_backends import REDIS_URL, require_redis

REPO = Path(__file__).resolve().parents[1]


def call(url: str, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def start(data_dir: Path, port: int, extra: list[str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAZA_")} | {"PLAZA_MOCAP_UDP_PORT": "off"}
    server = subprocess.Popen([sys.executable, "-m", "server", "serve", "--port", str(port), "--data-dir",
                               str(data_dir), "--log-level", "warning", *extra], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            if call(f"http://127.0.0.1:{port}", "GET", "/healthz")[0] == 200:
                return server
        except OSError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_an_acknowledged_order_survives_kill_9_and_a_restart(tmp_path, backend):
    extra: list[str] = []
    prefix = f"plaza-test:{uuid.uuid4().hex}:"
    if backend == "redis":
        require_redis()
        extra = ["--redis", REDIS_URL, "--redis-prefix", prefix]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start(tmp_path, port, extra)
    try:
        _, shopper = call(url, "POST", "/api/shoppers", {"name": "Durable"})
        me = {"X-Shopper-Key": shopper["shopper_key"]}
        variant = call(url, "GET", "/api/products/speaker-smart")[1]["variants"][0]["id"]
        call(url, "POST", "/api/bag/lines", {"product_id": "speaker-smart", "variant_id": variant},
             me | {"Idempotency-Key": "a"})
        _, checkout = call(url, "POST", "/api/checkouts", {"payment_method": "test_approve", "delivery": {
            "type": "pickup", "store": "boutique"}}, me | {"Idempotency-Key": "b"})
        call(url, "POST", f"/api/checkouts/{checkout['id']}/hold", {"action": "start"}, me | {"Idempotency-Key": "c"})
        time.sleep(HOLD_S + 0.1)
        status, placed = call(url, "POST", f"/api/checkouts/{checkout['id']}/hold", {"action": "end"},
                              me | {"Idempotency-Key": "d"})
        assert status == 200 and placed["state"] == "placed"  # acknowledged
        stock_after = call(url, "GET", "/api/products/speaker-smart")[1]["variants"][0]["stock"]
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        server = start(tmp_path, port, extra)
        status, order = call(url, "GET", f"/api/orders/{checkout['id']}", headers=me)
        assert status == 200 and order["state"] == "paid" and order["total_minor"] == placed["total_minor"]
        assert call(url, "GET", "/api/products/speaker-smart")[1]["variants"][0]["stock"] == stock_after
        status, again = call(url, "POST", f"/api/checkouts/{checkout['id']}/hold", {"action": "end"},
                             me | {"Idempotency-Key": "d"})
        assert status == 200 and again == placed  # the retry after the restart gets the first answer
    finally:
        server.kill()
        server.wait(10)
        if backend == "redis":
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(match=prefix + "*"):
                client.delete(key)
