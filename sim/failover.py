"""`python -m sim failover`: kill a node mid-session and measure how long its shoppers go without snapshots.

Starts N node processes on one Redis (`python -m server serve --redis URL --node-id ...`), puts B shopper bots
in two rooms through the first node (the cluster places the rooms), has each bot buy something (an
acknowledged order) and leave a line in its bag, then `kill -9`s the node that owns the busiest room. Each bot
does what the reference client does after a drop: resume at its node, and after a refused connection join
again through the node its page came from, which lands it where the room lives now. Reported: time from the
kill to each bot's first snapshot again (p50 / max), and whether every acknowledged order and bag line is
still there (read from a surviving node). The measurement, not the test, is the point: tests/test_cluster.py
asserts what always holds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.client import PlazaClient, http_json
from sim.shopper import Shopper

IDENTITY = [0.0, 0.0, 0.0, 1.0]
PICKUP = {"type": "pickup", "store": "boutique"}
JACKET = {"product_id": "digital-aurora-jacket", "variant_id": "aurora"}


@dataclass
class FailoverReport:
    nodes: int
    bots: int
    killed: str
    affected: int  # bots whose room lived on the killed node
    recovered: int
    recovery_s: dict[str, float | None]
    orders_acknowledged: int
    orders_found: int
    bag_lines_acknowledged: int
    bag_lines_found: int
    group_chat_after: bool | None = None  # two friends in rooms on different nodes still chat after the kill
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        r = self.recovery_s
        return "\n".join([
            f"{self.nodes} nodes, {self.bots} bots; killed {self.killed} (kill -9) holding {self.affected} bots",
            f"  back to snapshots         {self.recovered}/{self.affected} bots; from the kill: p50 "
            f"{_s(r['p50'])}  max {_s(r['max'])}",
            f"  acknowledged orders kept  {self.orders_found}/{self.orders_acknowledged}",
            f"  bag lines kept            {self.bag_lines_found}/{self.bag_lines_acknowledged}",
            f"  friends across nodes chat after it: {self.group_chat_after}",
            *[f"  note: {n}" for n in self.notes]])


def _s(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f} s"


def start_node(index: int, port: int, redis_url: str, prefix: str, data: Path, token: str) -> subprocess.Popen:
    env = dict(os.environ, PLAZA_OPERATOR_TOKEN=token, PLAZA_MOCAP_UDP_PORT="off")
    args = [sys.executable, "-m", "server", "serve", "--port", str(port), "--redis", redis_url, "--redis-prefix",
            prefix, "--node-id", f"n{index}", "--data-dir", str(data / f"n{index}"), "--origin", "*",
            "--log-level", "warning"]
    # The node's log goes to a file: a pipe nobody reads fills up (a Redis outage logs every heartbeat) and then
    # blocks the node on its next log line.
    data.mkdir(parents=True, exist_ok=True)
    with open(data / f"n{index}.log", "ab") as log:
        return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=log)


async def wait_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if (await asyncio.to_thread(http_json, "GET", f"{url}/healthz", None, 2.0))[0] == 200:
                return
        await asyncio.sleep(0.2)
    raise SystemExit(f"node at {url} did not start")


async def buy_and_leave_a_line(bot: Any) -> None:
    """The bot (with .shopper, .orders, .lines) places an order and leaves a line in its bag: what must survive."""
    shopper = bot.shopper
    await shopper.http("POST", "/api/bag/lines", JACKET | {"quantity": 2})
    status, checkout = await shopper.http("POST", "/api/checkouts", {"payment_method": "test_approve"})
    if status in (200, 201):
        await shopper.http("POST", f"/api/checkouts/{checkout['id']}/hold", {"action": "start"})
        await asyncio.sleep(1.05)
        status, done = await shopper.http("POST", f"/api/checkouts/{checkout['id']}/hold", {"action": "end"})
        if status == 200 and done.get("state") == "placed":
            bot.orders.append(checkout["id"])
    status, bag = await shopper.http("POST", "/api/bag/lines", JACKET)
    if status == 200:
        bot.lines = [li["line_id"] for li in bag["lines"]]


def stand_and_read(client: PlazaClient) -> list[float]:
    """One step of a bot standing at its spawn: send the standing pose, take what arrived; the arrival times of
    the snapshots among it."""
    sx, sy, sz = client.session.welcome["spawn"]
    with contextlib.suppress(ConnectionError):
        client.send_pose({0: np.array([sx, sy + 1.6, sz, *IDENTITY])})
    arrived = []
    while not client.events.empty():
        kind, _ = client.events.get_nowait()
        if kind == "snapshot":
            arrived.append(time.monotonic())
    return arrived


class Bot:
    def __init__(self, shopper: Shopper, entry_url: str, room: str) -> None:
        self.shopper, self.entry_url, self.room = shopper, entry_url, room
        self.client: PlazaClient | None = None
        self.last_snapshot = 0.0
        self.back_at: float | None = None
        self.orders: list[str] = []
        self.lines: list[str] = []
        self.dropped = False

    async def connect(self) -> None:
        self.client = await PlazaClient.join(self.entry_url, room=self.room, name=self.shopper.name,
                                             shopper_key=self.shopper.key)
        self.shopper.client = self.client

    async def run(self, stop: asyncio.Event, killed_at: list[float]) -> None:
        """Stream a standing pose; after a drop, resume, then join again through the entry node."""
        while not stop.is_set():
            client = self.client
            if client is not None and not client.ws.closed.done():
                for at in stand_and_read(client):
                    self.last_snapshot = at
                    if killed_at and self.back_at is None and at > killed_at[0] + 0.05 and self.dropped:
                        self.back_at = at
                await asyncio.sleep(1 / 30)
                continue
            self.dropped = True
            try:
                await asyncio.wait_for(client.resume(), 1.0)
            except Exception:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.connect(), 5.0)
            await asyncio.sleep(0.05)


async def run_failover(nodes: int = 2, bots: int = 8, redis_url: str = "redis://127.0.0.1:6379/0",
                       settle_s: float = 2.0, after_s: float = 15.0) -> FailoverReport:
    prefix = f"plaza-failover:{uuid.uuid4().hex}:"
    token = uuid.uuid4().hex
    data = Path(tempfile.mkdtemp(prefix="plaza-failover-"))
    ports = [_free_port() for _ in range(nodes)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    procs = [start_node(i, p, redis_url, prefix, data, token) for i, p in enumerate(ports)]
    notes: list[str] = []
    try:
        for url in urls:
            await wait_up(url)
        await asyncio.sleep(1.2)  # every node has beaten once
        _, side = await asyncio.to_thread(http_json, "GET", f"{urls[0]}/api/stores/space-market/room")
        rooms = ["main", side["id"]]
        team = []
        for i in range(bots):
            shopper = await Shopper.make(urls[0], f"bot{i}")
            bot = Bot(shopper, urls[0], rooms[i % 2])
            await bot.connect()
            await buy_and_leave_a_line(bot)
            team.append(bot)
        # Two friends, in rooms that the cluster placed on different nodes, shop together.
        _, group = await team[0].shopper.http("POST", "/api/groups", {"room": team[0].room})
        await team[1].shopper.http("POST", f"/api/invites/{group['code']}/accept")
        stop = asyncio.Event()
        killed_at: list[float] = []
        runners = [asyncio.create_task(b.run(stop, killed_at)) for b in team]
        await asyncio.sleep(settle_s)
        _, state = await asyncio.to_thread(http_json, "GET", f"{urls[0]}/api/cluster")
        owners = {}
        for url in urls:
            _, s = await asyncio.to_thread(http_json, "GET", f"{url}/api/cluster")
            for room in s.get("owned_rooms", []):
                owners[room] = s["node"]
        victim = owners.get("main") or state["node"]
        notes.append(f"the two friends' rooms were on {owners.get(team[0].room)} and {owners.get(team[1].room)}")
        index = int(victim.removeprefix("n"))
        affected = [b for b in team if owners.get(b.room) == victim]
        if index == 0:  # the bots' entry node is the victim: they come back through another node
            for b in team:
                b.entry_url = urls[1]
            notes.append("the killed node was also the bots' entry node; they re-joined through another node")
        killed_at.append(time.monotonic())
        os.kill(procs[index].pid, signal.SIGKILL)
        deadline = time.monotonic() + after_s
        while time.monotonic() < deadline and any(b.back_at is None for b in affected):
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*runners, return_exceptions=True)
        chat_ok = None
        with contextlib.suppress(Exception):
            await asyncio.sleep(1.0)  # the re-joined seats have loaded their group
            reply = await team[1].shopper.ask({"t": "chat", "text": "still here?"})
            chat_ok = reply["t"] == "ok" and bool(await team[0].shopper.until(
                lambda m: m["t"] == "chat" and m["text"] == "still here?", timeout=5))
        if chat_ok is None:
            chat_ok = False
        times = [b.back_at - killed_at[0] for b in affected if b.back_at is not None]
        survivor = urls[1] if index == 0 else urls[0]
        orders_found = lines_found = 0
        for b in team:
            b.shopper.url = survivor
            _, orders = await b.shopper.http("GET", "/api/orders")
            orders_found += len({o["id"] for o in orders} & set(b.orders))
            _, bag = await b.shopper.http("GET", "/api/bag")
            lines_found += len({li["line_id"] for li in bag["lines"]} & set(b.lines))
        for b in team:
            with contextlib.suppress(Exception):
                await b.client.close()
        return FailoverReport(
            nodes=nodes, bots=bots, killed=victim, affected=len(affected), recovered=len(times),
            recovery_s={"p50": float(np.median(times)) if times else None, "max": max(times) if times else None},
            orders_acknowledged=sum(len(b.orders) for b in team), orders_found=orders_found,
            bag_lines_acknowledged=sum(len(b.lines) for b in team), bag_lines_found=lines_found,
            group_chat_after=chat_ok, notes=notes)
    finally:
        stop_nodes(procs)
        await _drop(redis_url, prefix)


def stop_nodes(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(10)


async def _drop(redis_url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    async for key in client.scan_iter(match=prefix + "*", count=500):
        await client.delete(key)
    await client.aclose()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim failover", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--bots", type=int, default=8)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--json", default=None, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    report = asyncio.run(run_failover(args.nodes, args.bots, args.redis))
    print(report.summary())
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(report), indent=2))
    kept = report.orders_found == report.orders_acknowledged and report.bag_lines_found == report.bag_lines_acknowledged
    return 0 if report.recovered == report.affected and kept and report.group_chat_after else 1
