"""`python -m sim cluster`: what one more node buys. Starts N nodes on one Redis, fills R store rooms with B bots
each (one `sim load` process per room, all joining through the first node, so the cluster places the rooms),
and reports per room the snapshot rate the bots received and per node its CPU and tick timing. Run it with
--nodes 1 and --nodes 2 at the same load to compare; on a small machine the simulator's own processes share
the cores with the nodes, and the report says how busy it was.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sim.client import http_json
from sim.failover import _drop, _free_port, start_node, wait_up

STORE_ROOMS = ("boutique", "space-market", "fairy-beauty", "launch-hall")


async def run_cluster_load(nodes: int, rooms: int, bots: int, seconds: float, redis_url: str) -> dict:
    prefix = f"plaza-cluster-load:{uuid.uuid4().hex}:"
    token = uuid.uuid4().hex
    data = Path(tempfile.mkdtemp(prefix="plaza-cluster-"))
    ports = [_free_port() for _ in range(nodes)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    procs = [start_node(i, p, redis_url, prefix, data, token) for i, p in enumerate(ports)]
    sims = []
    try:
        for url in urls:
            await wait_up(url)
        await asyncio.sleep(1.2)
        room_ids = []
        for scene in STORE_ROOMS[:rooms]:
            _, room = await asyncio.to_thread(http_json, "GET", f"{urls[0]}/api/stores/{scene}/room")
            room_ids.append(room["id"])
        env = dict(os.environ, PLAZA_OPERATOR_TOKEN=token)
        outs = []
        for room_id in room_ids:  # one after another: each join finds the load the previous ones left
            out = data / f"{room_id}.json"
            outs.append(out)
            sims.append(subprocess.Popen([sys.executable, "-m", "sim", "load", "--url", urls[0], "--room", room_id,
                                          "--bots", str(bots), "--seconds", str(seconds), "--decode", "1",
                                          "--no-progress", "--json", str(out), "--operator-token", token],
                                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            await asyncio.sleep(2.5)  # its bots are in (and the heartbeat has carried the load) before the next
        before = {url: (await asyncio.to_thread(http_json, "GET", f"{url}/api/stats"))[1] for url in urls}
        t0 = time.monotonic()
        for sim in sims:
            await asyncio.to_thread(sim.wait, seconds + 120)
        after = {url: (await asyncio.to_thread(http_json, "GET", f"{url}/api/stats"))[1] for url in urls}
        window = time.monotonic() - t0
        owners = {}
        per_node = []
        for url in urls:
            _, state = await asyncio.to_thread(http_json, "GET", f"{url}/api/cluster")
            for room in state.get("owned_rooms", []):
                owners[room] = state["node"]
            b, a = before[url], after[url]
            per_node.append({"node": state["node"], "rooms": state.get("owned_rooms", []),
                             "cpu_share": (a["cpu_s"] - b["cpu_s"]) / window,
                             "tick_work_ms_p99": a["tick_work_ms"]["p99"], "late_ticks": a["late_ticks"]})
        per_room = []
        for room_id, out in zip(room_ids, outs, strict=True):
            report = json.loads(out.read_text()) if out.exists() else {}
            per_room.append({"room": room_id, "node": owners.get(room_id), "bots": report.get("connected"),
                             "receive_hz_p50": report.get("receive_hz", {}).get("p50"),
                             "receive_hz_p5": report.get("receive_hz", {}).get("p5"),
                             "sim_saturated": report.get("saturated"), "sim_cpu_share": report.get("sim_cpu_share")})
        return {"nodes": nodes, "rooms": rooms, "bots_per_room": bots, "seconds": seconds, "per_room": per_room,
                "per_node": per_node}
    finally:
        for p in sims + procs:
            if p.poll() is None:
                p.terminate()
        for p in sims + procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        await _drop(redis_url, prefix)


def summary(result: dict) -> str:
    lines = [f"{result['nodes']} node(s), {result['rooms']} rooms x {result['bots_per_room']} bots, "
             f"{result['seconds']:g} s"]
    for r in result["per_room"]:
        lines.append(f"  room {r['room']:22s} on {r['node']}: {r['bots']} bots, receive p50 "
                     f"{r['receive_hz_p50'] or 0:.1f} Hz p5 {r['receive_hz_p5'] or 0:.1f} Hz"
                     f"{'  (simulator saturated)' if r['sim_saturated'] else ''}")
    for n in result["per_node"]:
        lines.append(f"  node {n['node']}: rooms {', '.join(n['rooms']) or '-'}; CPU {n['cpu_share'] * 100:.0f}%, "
                     f"tick work p99 {n['tick_work_ms_p99'] or 0:.1f} ms, late ticks {n['late_ticks']}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--rooms", type=int, default=2, choices=range(1, len(STORE_ROOMS) + 1))
    parser.add_argument("--bots", type=int, default=100, help="bots per room")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    result = asyncio.run(run_cluster_load(args.nodes, args.rooms, args.bots, args.seconds, args.redis))
    print(summary(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0
