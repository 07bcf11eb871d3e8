"""Rerun the attacks of the trust issue against a running server and say, per attack, whether it still works.

    .venv/bin/python tools/trust_probe.py --url http://127.0.0.1:8000

Loopback only (it opens many connections and sends large bodies); every loop is bounded. Attacks that need a
restart or the server's log (tokens in logs, state across restarts) are proven by tests instead and listed as
such. Exit status 0 when no attack works.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlparse

from sim.client import ClientSession, PlazaClient, http_json
from sim.load import operator_token_from_env

RESULTS: list[tuple[int, str, bool, str]] = []


def record(item: int, what: str, held: bool, detail: str) -> None:
    RESULTS.append((item, what, held, detail))
    print(f"{'ok  ' if held else 'OPEN'} {item:2d} {what}: {detail}", flush=True)


def raw_http(url: str, data: bytes, read_timeout: float = 15.0) -> bytes:
    u = urlparse(url)
    with socket.create_connection((u.hostname, u.port or 80), timeout=read_timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if sum(map(len, chunks)) > 200_000:
                break
        return b"".join(chunks)


def post_raw(url: str, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url + path, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


async def seats(url: str) -> None:
    gone = await PlazaClient.join(url, name="departed")
    resume, gone_id = gone.session.welcome["resume"], gone.session.welcome["avatar"]
    gone.send_control({"t": "leave"})
    await asyncio.wait_for(gone.ws.closed, 5)
    await asyncio.sleep(1.5)  # ids are reused 64 ticks after a seat frees
    newcomer = await PlazaClient.join(url, name="newcomer")
    thief = PlazaClient(url, session=ClientSession())
    await thief.connect(f"/ws?v=2&room={newcomer.room}", token=resume, wait_welcome=False)
    code = (await asyncio.wait_for(thief.ws.closed, 5))[0]
    reused = newcomer.session.welcome["avatar"] == gone_id
    record(1, "old resume token opens a later seat", code == 4010 and not newcomer.ws.closed.done(),
           f"close {code}, rightful owner still connected: {not newcomer.ws.closed.done()}, id reused: {reused}")
    await newcomer.close()


async def slow_reader(url: str) -> None:
    reader = await PlazaClient.join(url, name="slow")
    sx, sy, sz = reader.session.welcome["spawn"]
    import numpy as np

    for _ in range(30):
        reader.send_pose({0: np.array([sx, sy + 1.6, sz, 0, 0, 0, 1.0])})
        await asyncio.sleep(1 / 60)
    reader.ws.transport.pause_reading()
    await asyncio.sleep(3.5)
    reader.ws.transport.resume_reading()
    try:
        code = (await asyncio.wait_for(reader.ws.closed, 10))[0]
    except TimeoutError:
        code = None
    record(15, "a reader that stops is dropped after 2 s", code == 4008, f"close {code} after a 3.5 s stall")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--data-dir", default="var", help="the server's data directory (for its operator token)")
    args = parser.parse_args()
    url = args.url.rstrip("/")
    operator = operator_token_from_env(args.data_dir)
    if urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        print("the probe only runs against a server on this machine", file=sys.stderr)
        return 2

    asyncio.run(seats(url))

    statuses = [http_json("POST", f"{url}/api/rooms", {"name": f"spam {i}", "capacity": 2000})[0] for i in range(30)]
    record(2, "unlimited room creation", statuses.count(201) <= 10 and 429 in statuses,
           f"{statuses.count(201)} of 30 created, then {sorted(set(statuses) - {201})}")

    _, reply = http_json("POST", f"{url}/api/rooms/main/join", {"name": "peek"})
    record(3, "seat tokens in URLs (and so in logs)", "token" not in reply.get("ws_url", "token"),
           f"ws_url = {reply.get('ws_url')} (log contents: tests/test_logs_hold_no_secrets.py)")

    statuses = [http_json("POST", f"{url}/api/rooms/main/join", {"name": f"f{i}"})[0] for i in range(60)]
    record(4, "one address fills a room", statuses.count(200) < 20,
           f"{statuses.count(200)} of 60 reservations granted (mocap idle seats: tests/test_mocap_limits.py)")

    head = (b"POST /api/rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 50000000\r\nConnection: close\r\n\r\n" + b'{"name": "' + b"x" * 100_000)
    started = time.monotonic()
    answer = raw_http(url, head, read_timeout=15)
    record(5, "no body limit", answer.startswith(b"HTTP/1.1 413") and len(answer) < 2000,
           f"{answer[:12]!r} to a 50 MB body before it was sent, {len(answer)} B in {time.monotonic() - started:.1f} s")
    status, body = post_raw(url, "/api/rooms", json.dumps({"name": "y" * 5000}).encode())
    record(5, "422 echoes the input", status == 422 and b"yyyyyyyyyy" not in body, f"{status}, {len(body)} B")

    u = urlparse(url)
    idle = []
    for _ in range(120):
        try:
            idle.append(socket.create_connection((u.hostname, u.port), timeout=5))
        except OSError:
            break
    time.sleep(0.5)
    refused = 0
    for s in idle:
        s.settimeout(0.2)
        try:
            if s.recv(64).startswith(b"HTTP/1.1 429"):
                refused += 1
        except (TimeoutError, OSError):
            pass
    answer = raw_http(url, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", read_timeout=15)
    for s in idle:
        s.close()
    record(6, "slowloris", refused > 0 and answer.startswith(b"HTTP/1.1 408"),
           f"{refused} of {len(idle)} idle connections refused; half a head answered {answer[:12]!r}")

    status, _ = http_json("POST", f"{url}/api/mocap/sources", {"name": "intruder"})
    record(7, "mocap operator API fails open", status == 401, f"{status} without the operator token")

    bad = [
        post_raw(url, "/api/rooms/main/join", b'{"name": "\\ud800"}')[0],
        post_raw(url, "/api/rooms", b'{"name": "n", "capacity": NaN}')[0],
        post_raw(url, "/api/rooms", b'{"name": "n", "capacity": 1e400}')[0],
        post_raw(url, "/api/sizing/recommend", b'{"body": {"stature": Infinity, "weight": 60}}')[0],
    ]
    model = http_json("GET", f"{url}/api/products?limit=1")[1]["items"][0]["model_url"].encode()
    ranged = raw_http(url, b"GET " + model + b" HTTP/1.1\r\nHost: x\r\nRange: bytes=" + b"9" * 5000 +
                      b"-\r\nConnection: close\r\n\r\n", read_timeout=10)[:12]
    source = http_json("POST", f"{url}/api/mocap/sources", {"name": "probe"}, operator_token=operator)[1]
    nul = http_json("POST", f"{url}/api/mocap/sources/{source.get('source_id', 'x')}/playback",
                    {"file": "a\x00.bvh"}, operator_token=operator)[0]
    record(8, "500s on bad input", all(400 <= s < 500 for s in bad) and b" 500" not in ranged and nul < 500,
           f"statuses {bad}, range {ranged!r}, NUL file name {nul}")

    record(9, "VMC work per datagram", True, "bounded and counted: tests/test_mocap_limits.py (needs a source key)")
    record(10, "rooms, sources, keys and secret lost on restart", True,
           "tests/test_restart_state.py, tests/test_mocap_limits.py (needs a restart)")

    status, created = http_json("POST", f"{url}/api/sizing/profiles",
                                {"consent": True, "body": {"stature": 170, "weight": 65}})
    cache = None
    if status == 201:
        request = urllib.request.Request(f"{url}/api/sizing/profiles/{created['profile_id']}",
                                         headers={"X-Owner-Key": created["owner_key"]})
        with urllib.request.urlopen(request, timeout=10) as r:
            cache = r.headers.get("Cache-Control")
        urllib.request.urlopen(urllib.request.Request(
            f"{url}/api/sizing/profiles/{created['profile_id']}", method="DELETE",
            headers={"X-Owner-Key": created["owner_key"]}), timeout=10).close()
    record(11, "body-measurement export cacheable", cache is not None and "no-store" in cache,
           f"Cache-Control: {cache}")

    names = ["a\u202eb", "zero\u200bwidth", "nul\x00", "new\nline", "\x1b[31m"]
    statuses = [http_json("POST", f"{url}/api/rooms/main/join", {"name": n})[0] for n in names]
    record(12, "spoofing characters in names", all(s == 422 for s in statuses), f"statuses {statuses}")

    statuses = [http_json("POST", f"{url}/api/sizing/profiles",
                          {"consent": True, "body": {"stature": 170, "weight": 65}})[0] for _ in range(40)]
    record(13, "unlimited profile creation", 429 in statuses, f"{statuses.count(201)} of 40 created")

    spec = json.loads(urllib.request.urlopen(f"{url}/openapi.json", timeout=10).read())
    missing = [f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m, op in ops.items()
               if "422" not in op.get("responses", {}) or "application/problem+json" not in
               json.dumps(op["responses"].get("422", {}))]
    record(14, "OpenAPI out of step with errors", not missing, f"{len(missing)} operations without problem 422")

    asyncio.run(slow_reader(url))
    still_open = [r for r in RESULTS if not r[2]]
    print(f"\n{len(RESULTS) - len(still_open)} of {len(RESULTS)} checks hold")
    return 1 if still_open else 0


if __name__ == "__main__":
    raise SystemExit(main())
