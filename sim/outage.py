"""`python -m sim outage`: what shoppers see when Redis restarts, and when one node is cut off from Redis.

Starts its own Redis (`redis-server` with an append-only file fsynced on every write, the configuration
docs/SCALING.md asks of commerce) and N nodes, each reaching Redis through a forwarder that can cut the network
(`sim/tcp_cut.py`), puts bots in the store's main room through every node, and has each buy something (an
acknowledged order) and leave a line in its bag. Then:

1. **Redis restart**: `kill -9` of Redis, a few seconds down, started again on the same files. Measured: the
   bots' snapshot rate while it is down (the room keeps running), what a durable request answers meanwhile and
   how long it takes, how long after Redis is back each node serves durable requests again, whether every
   acknowledged order and bag line is still there, and whether a new shopper can join and buy.
2. **Partition**: the node that owns the room loses Redis (a blackhole: no answer, no reset) for longer than a
   room's ownership lease. Measured: its bots' snapshot rate during the cut, what its durable requests answer,
   where a newcomer who joins through another node meanwhile lands, and after healing how long until every
   bot is back in one room with the newcomer (the cut node finds the room taken and closes its seats with 4010;
   the bots join again).

tests/test_cluster_outage.py asserts what always holds; this prints the figures (bench/cluster.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sim.client import PlazaClient, http_json
from sim.failover import (
    JACKET,
    _free_port,
    buy_and_leave_a_line,
    stand_and_read,
    start_node,
    stop_nodes,
    wait_up,
)
from sim.shopper import Shopper
from sim.tcp_cut import CuttableProxy

ROOM = "main"


@dataclass
class OutageReport:
    nodes: int
    bots: int
    restart: dict[str, Any] = field(default_factory=dict)
    partition: dict[str, Any] = field(default_factory=dict)
    orders_acknowledged: int = 0
    orders_found: int = 0
    bag_lines_acknowledged: int = 0
    bag_lines_found: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        r, p = self.restart, self.partition
        return "\n".join([
            f"{self.nodes} nodes, {self.bots} bots in one room; Redis with appendfsync always",
            f"Redis restart (kill -9, down {r.get('down_s', 0):.1f} s):",
            f"  bots' snapshots while down      min {r.get('snapshot_hz_min', 0):.1f} Hz per bot",
            f"  durable request while down      {r.get('durable_while_down')}",
            f"  durable requests again after    {_s(r.get('durable_back_s_max'))} (slowest node, from Redis up)",
            f"  a new shopper joins and buys    {r.get('newcomer_bought')}",
            f"Partition (node {p.get('cut_node')} cut from Redis for {p.get('cut_s', 0):.1f} s):",
            f"  its bots' snapshots during it   min {p.get('snapshot_hz_min', 0):.1f} Hz per bot",
            f"  its durable requests            {p.get('durable_while_cut')}",
            f"  a newcomer through node {p.get('other_node')} lands on {p.get('newcomer_node')}",
            f"  all bots with the newcomer      {_s(p.get('reunited_s_max'))} after healing "
            f"({p.get('reunited')}/{self.bots}; closes seen: {p.get('close_codes')})",
            f"acknowledged orders kept  {self.orders_found}/{self.orders_acknowledged}",
            f"bag lines kept            {self.bag_lines_found}/{self.bag_lines_acknowledged}",
            *[f"note: {n}" for n in self.notes]])


def _s(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f} s"


class RedisProcess:
    """A private redis-server on its own port and files (the suite's shared Redis is never restarted)."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.port = directory, _free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not on PATH")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def wait_ready(self, timeout: float = 10.0) -> None:
        import redis.asyncio as aioredis

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            client = aioredis.Redis(port=self.port, socket_timeout=1.0)
            try:
                if await client.ping():
                    return
            except Exception:
                await asyncio.sleep(0.05)
            finally:
                await client.aclose()
        raise SystemExit("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


class Watcher:
    """A bot that streams a standing pose and records every snapshot, close and re-join."""

    def __init__(self, shopper: Shopper, entry_url: str) -> None:
        self.shopper, self.entry_url = shopper, entry_url
        self.client: PlazaClient | None = None
        self.snapshots: list[float] = []  # monotonic arrival times
        self.closes: list[int] = []
        self.orders: list[str] = []
        self.lines: list[str] = []

    async def connect(self) -> None:
        self.client = await PlazaClient.join(self.entry_url, room=ROOM, name=self.shopper.name,
                                             shopper_key=self.shopper.key)
        self.shopper.client = self.client

    def node_port(self) -> int | None:
        path = getattr(self.client, "ws_path", "") if self.client else ""
        with contextlib.suppress(ValueError, IndexError):
            return int(path.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        return None

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            client = self.client
            if client is not None and not client.ws.closed.done():
                self.snapshots += stand_and_read(client)
                await asyncio.sleep(1 / 30)
                continue
            if client is not None:
                self.closes.append(client.ws.closed.result()[0])
                self.client = None
            try:  # 4010 and the like: join again through the page's node, which routes to the room's owner
                await asyncio.wait_for(self.connect(), 5.0)
            except Exception:
                await asyncio.sleep(0.2)

    def rate(self, start: float, end: float) -> float:
        return sum(1 for t in self.snapshots if start <= t <= end) / max(1e-9, end - start)


async def _probe(url: str, shopper: Shopper) -> tuple[int, str | None, float]:
    """GET the bag through `url`: (status, problem code, seconds it took); status 0 if no answer in 15 s."""
    started = time.monotonic()
    try:
        status, body = await asyncio.to_thread(http_json, "GET", f"{url}/api/bag", None, 15.0,
                                               headers={"X-Shopper-Key": shopper.key})
    except OSError:  # no answer at all (timeout) or no connection
        return 0, "no_answer", time.monotonic() - started
    code = body.get("code") if isinstance(body, dict) else None
    return status, code, time.monotonic() - started


async def _durable_back(url: str, shopper: Shopper, since: float, timeout: float = 20.0) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await _probe(url, shopper))[0] == 200:
            return time.monotonic() - since
        await asyncio.sleep(0.1)
    return None


async def _owner_index(urls: list[str]) -> int | None:
    for i, url in enumerate(urls):
        _, state = await asyncio.to_thread(http_json, "GET", f"{url}/api/cluster")
        if ROOM in state.get("owned_rooms", []):
            return i
    return None


async def run_outage(nodes: int = 2, bots: int = 4, down_s: float = 3.0, cut_s: float = 9.0) -> OutageReport:
    data = Path(tempfile.mkdtemp(prefix="plaza-outage-"))
    (data / "redis").mkdir()
    redis = RedisProcess(data / "redis")
    redis.start()
    await redis.wait_ready()
    proxies = [CuttableProxy("127.0.0.1", redis.port) for _ in range(nodes)]
    for proxy in proxies:
        await proxy.start()
    prefix, token = f"plaza-outage:{uuid.uuid4().hex}:", uuid.uuid4().hex
    ports = [_free_port() for _ in range(nodes)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    procs = [start_node(i, port, f"redis://127.0.0.1:{proxies[i].port}/0", prefix, data, token)
             for i, port in enumerate(ports)]
    report = OutageReport(nodes=nodes, bots=bots)
    stop = asyncio.Event()
    runners: list[asyncio.Task] = []
    team: list[Watcher] = []
    try:
        for url in urls:
            await wait_up(url)
        await asyncio.sleep(1.2)  # every node has beaten once
        for i in range(bots):
            bot = Watcher(await Shopper.make(urls[i % nodes], f"bot{i}"), urls[i % nodes])
            await bot.connect()
            await buy_and_leave_a_line(bot)
            team.append(bot)
        runners = [asyncio.create_task(b.run(stop)) for b in team]
        await asyncio.sleep(1.0)

        # 1. Redis restart ------------------------------------------------------------------------------
        down_at = time.monotonic()
        redis.kill()
        await asyncio.sleep(0.5)
        probes = [await _probe(url, team[0].shopper) for url in urls]
        await asyncio.sleep(max(0.0, down_s - (time.monotonic() - down_at)))
        redis.start()
        await redis.wait_ready()
        up_at = time.monotonic()
        back = [await _durable_back(url, team[0].shopper, up_at) for url in urls]
        newcomer = await Shopper.make(urls[-1], "newcomer")
        status, _ = await newcomer.http("POST", "/api/bag/lines", JACKET)
        report.restart = {
            "down_s": up_at - down_at,
            "snapshot_hz_min": min(b.rate(down_at + 0.2, up_at) for b in team),
            "durable_while_down": sorted({f"{s} {c} in {t:.2f} s" for s, c, t in probes}),
            "durable_back_s_max": None if None in back else max(back),
            "newcomer_bought": status == 200,
            "nodes_alive": all(p.poll() is None for p in procs)}

        # 2. Partition of the room's owner -------------------------------------------------------------
        await asyncio.sleep(1.5)  # the owner has refreshed its room since Redis came back
        cut = await _owner_index(urls)
        if cut is None:
            report.notes.append("no node owned the room before the partition")
            return report
        other = (cut + 1) % nodes
        cut_at = time.monotonic()
        proxies[cut].blackhole()
        cut_bots = [b for b in team if b.node_port() == ports[cut]]
        probe = await _probe(urls[cut], team[0].shopper)
        await asyncio.sleep(max(0.0, 7.5 - (time.monotonic() - cut_at)))  # past the 6 s lease of the room
        late = Watcher(await Shopper.make(urls[other], "latecomer"), urls[other])
        await late.connect()
        late_port = late.node_port()
        runners.append(asyncio.create_task(late.run(stop)))
        await asyncio.sleep(max(0.0, cut_s - (time.monotonic() - cut_at)))
        healed_at = time.monotonic()
        proxies[cut].heal()
        cut_hz = min((b.rate(cut_at + 0.2, healed_at) for b in cut_bots), default=0.0)
        reunited: dict[int, float] = {}
        deadline = healed_at + 20.0
        while time.monotonic() < deadline and len(reunited) < len(team):
            for i, b in enumerate(team):
                if i in reunited or b.client is None or b.node_port() != late_port:
                    continue
                if late.client is not None and late.client.session.avatar_id in b.client.session.roster \
                        and b.snapshots and b.snapshots[-1] > healed_at:
                    reunited[i] = time.monotonic() - healed_at
            await asyncio.sleep(0.05)
        report.partition = {
            "cut_node": f"n{cut}", "other_node": f"n{other}", "cut_s": healed_at - cut_at,
            "snapshot_hz_min": cut_hz, "bots_on_cut_node": len(cut_bots),
            "durable_while_cut": f"{probe[0]} {probe[1]} in {probe[2]:.2f} s",
            "newcomer_node": f"n{ports.index(late_port)}" if late_port in ports else None,
            "reunited": len(reunited), "reunited_s_max": max(reunited.values()) if reunited else None,
            "close_codes": sorted({c for b in team for c in b.closes}),
            "nodes_alive": all(p.poll() is None for p in procs)}

        for b in team:
            b.shopper.url = urls[other]
            _, orders = await b.shopper.http("GET", "/api/orders")
            report.orders_found += len({o["id"] for o in orders} & set(b.orders))
            _, bag = await b.shopper.http("GET", "/api/bag")
            report.bag_lines_found += len({li["line_id"] for li in bag["lines"]} & set(b.lines))
        report.orders_acknowledged = sum(len(b.orders) for b in team)
        report.bag_lines_acknowledged = sum(len(b.lines) for b in team)
        return report
    finally:
        stop.set()
        await asyncio.gather(*runners, return_exceptions=True)
        for b in team:
            with contextlib.suppress(Exception):
                await b.client.close()
        stop_nodes(procs)
        for proxy in proxies:
            await proxy.close()
        redis.kill()
        shutil.rmtree(data, ignore_errors=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim outage", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--bots", type=int, default=4)
    parser.add_argument("--down", type=float, default=3.0, help="seconds Redis stays down")
    parser.add_argument("--cut", type=float, default=9.0, help="seconds the room's node is cut from Redis")
    parser.add_argument("--json", default=None, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    report = asyncio.run(run_outage(args.nodes, args.bots, args.down, args.cut))
    print(report.summary())
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(report), indent=2))
    kept = report.orders_found == report.orders_acknowledged and report.bag_lines_found == report.bag_lines_acknowledged
    return 0 if kept and report.partition.get("reunited") == report.bots else 1
