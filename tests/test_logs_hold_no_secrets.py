"""A whole session against `python -m server serve --log-level debug`: no log line names a seat token, an
operator token, a mocap key, a profile owner key or a body measurement."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from sim.client import PlazaClient, http_json
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[1]
BODY = {"stature": 171.3, "weight": 64.7, "chest": 93.9}


async def _session(url: str, operator: str) -> list[str]:
    secrets: list[str] = [operator]
    alice = await PlazaClient.join(url, name="alice")
    secrets += [alice.session.welcome["resume"]]
    status, reply = await asyncio.to_thread(http_json, "POST", f"{url}/api/rooms/main/join", {"name": "bob"})
    secrets.append(reply["token"])
    bob = PlazaClient(url, alice.session.__class__())
    await bob.connect(reply["ws_url"], token=reply["token"])
    secrets.append(bob.session.welcome["resume"])
    sx, sy, sz = alice.session.welcome["spawn"]
    for _ in range(20):
        alice.send_pose({0: np.array([sx, sy + 1.6, sz, 0.0, 0.0, 0.0, 1.0])})
        await asyncio.sleep(1 / 60)
    alice.drop()
    await alice.resume()
    thief = PlazaClient(url, alice.session.__class__())
    await thief.connect(reply["ws_url"], token=reply["token"] + "x", wait_welcome=False)  # refused
    await asyncio.wait_for(thief.ws.closed, 5)
    status, profile = await asyncio.to_thread(http_json, "POST", f"{url}/api/sizing/profiles",
                                              {"consent": True, "body": BODY})
    assert status == 201, profile
    secrets.append(profile["owner_key"])
    status, source = await asyncio.to_thread(http_json, "POST", f"{url}/api/mocap/sources", {"name": "host"},
                                             operator_token=operator)
    if status == 201:
        secrets.append(source["key"])
    for client in (alice, bob):
        await client.close()
    return secrets


def test_a_debug_log_of_a_whole_session_holds_no_secret_and_no_measurement(tmp_path):
    port = free_port()
    operator = "operator-token-for-the-log-test"
    (tmp_path / "operator_token").write_text(operator)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAZA_")} | {"PLAZA_MOCAP_UDP_PORT": "off"}
    log_file = tmp_path / "server.log"
    with open(log_file, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "server", "serve", "--port", str(port), "--data-dir",
                                   str(tmp_path), "--log-level", "debug"], cwd=REPO, env=env, stdout=out, stderr=out)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if http_json("GET", f"{url}/healthz", timeout=1)[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline and server.poll() is None, log_file.read_text()
                time.sleep(0.1)
            secrets = asyncio.run(_session(url, operator))
        finally:
            server.terminate()
            server.wait(10)
    text = log_file.read_text()
    assert "WebSocket /ws" in text and "DEBUG" in text  # the log is really at debug level and saw the session
    for secret in secrets:
        assert secret not in text and secret[:24] not in text
    for value in BODY.values():
        assert str(value) not in text
