"""`make bench-versus`: Plaza and a minimal Colyseus 0.18 server under the same pose workload.

Runs: python bench/versus.py [--clients 50,100,200] [--reps 4] [--seconds 20] [--warmup 5] [--quick]
Writes bench/versus.json and bench/versus.md (a --quick smoke run writes bench/versus-quick.*).

Workload: N clients in one room, every client uploading head + two controllers at 60 Hz with every value
jittered every tick, every avatar sent to every client at 60 Hz. Both servers are driven by the same
Node load generator (bench/versus/loadgen.mjs), which reads nothing of a snapshot beyond its frame
header (Plaza) or its protocol byte (Colyseus). Each run starts the server fresh (Plaza: `python -m
server serve` on a free port with a fresh data directory, whose operator token the generator uses to
join; Colyseus: bench/versus/colyseus_server.mjs), connects the clients, warms up, then reads the
server's CPU time (utime + stime from /proc/<pid>/stat) over the measured window and divides it by the
snapshots the generator received in that window. Sizes and servers are interleaved over the
repetitions, so a load spike from something else on the machine hits both sides alike; the ratio
Plaza/Colyseus is taken per repetition and the median reported.

The Node packages (Colyseus, ws, msgpackr) are installed on demand with `npm ci` in bench/versus/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NODE_DIR = REPO / "bench" / "versus"
OUT = REPO / "bench"
SERVERS = ("plaza", "colyseus")
GENERATOR_SATURATED = 0.80  # share of one core
MIN_DELIVERY_HZ = 58.0
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# ------------------------------------------------------------------ pure helpers (tests/test_bench_versus.py)
def parse_proc_stat(text: str) -> tuple[int, int]:
    """(utime, stime) in clock ticks from the text of /proc/<pid>/stat. The command name (field 2) is in
    parentheses and may itself hold spaces and parentheses, so the fields are counted after the last ')'."""
    end = text.rfind(")")
    if end < 0:
        raise ValueError("not a /proc/<pid>/stat line")
    fields = text[end + 1:].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    if len(fields) < 13:
        raise ValueError("truncated /proc/<pid>/stat line")
    return int(fields[11]), int(fields[12])


def parse_cpu_totals(text: str) -> tuple[int, int]:
    """(idle, total) jiffies of all CPUs from the text of /proc/stat (its first `cpu` line): idle counts
    idle + iowait, total the first eight fields (guest time is already inside user)."""
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            values = [int(v) for v in fields[1:9]]
            if len(values) < 5:
                raise ValueError("truncated cpu line in /proc/stat")
            return values[3] + values[4], sum(values)
    raise ValueError("no cpu line in /proc/stat")


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    """Share of the machine's CPU time (all cores) that was busy between two parse_cpu_totals readings."""
    idle, total = after[0] - before[0], after[1] - before[1]
    return 1.0 - idle / total if total > 0 else None


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def paired_ratios(numerator: dict[int, float], denominator: dict[int, float]) -> list[float]:
    """numerator[rep] / denominator[rep] for every repetition both sides measured (and the divisor is > 0)."""
    return [numerator[rep] / denominator[rep] for rep in sorted(numerator)
            if rep in denominator and numerator[rep] is not None and denominator[rep]]


def run_flags(generator_cpu_share: float | None, receive_hz: float | None, disconnects: int = 0) -> list[str]:
    """Why a run's figure may measure the generator or a failing server rather than the server's cost."""
    flags = []
    if generator_cpu_share is not None and generator_cpu_share > GENERATOR_SATURATED:
        flags.append(f"generator > {GENERATOR_SATURATED:.0%} of a core")
    if receive_hz is None or receive_hz < MIN_DELIVERY_HZ:
        flags.append(f"delivery < {MIN_DELIVERY_HZ:g} Hz")
    if disconnects:
        flags.append(f"{disconnects} disconnects")
    return flags


def us_per_snapshot(cpu_s: float, snapshots: int) -> float | None:
    return cpu_s * 1e6 / snapshots if snapshots else None


def interleaved_order(reps: int, sizes: list[int]) -> list[tuple[int, int, str]]:
    """(rep, clients, server) in run order: every size in every repetition, the server that goes first
    alternating from one run pair to the next so neither always runs on a warmer (or busier) machine."""
    order = []
    k = 0
    for rep in range(reps):
        for n in sizes:
            pair = SERVERS if k % 2 == 0 else SERVERS[::-1]
            order.extend((rep, n, server) for server in pair)
            k += 1
    return order


# ----------------------------------------------------------------------------------------------- processes
_children: list[subprocess.Popen] = []


def _start(cmd: list[str], **kwargs) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
    _children.append(proc)
    return proc


def _stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(5)
    if proc in _children:
        _children.remove(proc)


def _stop_all() -> None:
    for proc in list(_children):
        _stop(proc, timeout=5)


def _on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu(pid: int) -> tuple[float, float]:
    with open(f"/proc/{pid}/stat") as f:
        utime, stime = parse_proc_stat(f.read())
    return utime / CLK_TCK, stime / CLK_TCK


def _machine_cpu() -> tuple[int, int]:
    with open("/proc/stat") as f:
        return parse_cpu_totals(f.read())


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(ready, proc: subprocess.Popen, what: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout:.0f} s:\n{_tail(log)}")
        time.sleep(0.2)


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


# -------------------------------------------------------------------------------------------------- setup
def ensure_node_packages() -> None:
    """`npm ci` in bench/versus when node_modules is missing or older than the lock file."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("bench-versus needs Node.js (node and npm on PATH) for the Colyseus side and the generator")
    lock = NODE_DIR / "package-lock.json"
    installed = NODE_DIR / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    print("installing the benchmark's Node packages (npm ci in bench/versus) ...", flush=True)
    try:
        proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR,
                              capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired as exc:
        raise SystemExit("npm ci in bench/versus took more than 10 minutes: is the npm registry reachable? "
                         "(npm config get registry)") from exc
    if proc.returncode != 0:
        raise SystemExit("npm ci in bench/versus failed; bench-versus needs the npm registry (`npm config get "
                         "registry`), or an npm cache holding @colyseus/core, @colyseus/ws-transport, "
                         "@colyseus/schema, ws, msgpackr and express, to install the Colyseus side.\n"
                         + proc.stderr[-3000:])


def _versions() -> dict:
    out = {"python": platform.python_version()}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    for pkg in ("@colyseus/core", "@colyseus/ws-transport", "@colyseus/schema", "ws"):
        with contextlib.suppress(OSError, ValueError):
            out[pkg] = json.loads((NODE_DIR / "node_modules" / pkg / "package.json").read_text())["version"]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out["plaza_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                             text=True, timeout=10).stdout.strip()
        # the server's code as measured: the newest commit that touched server/ (bench-only commits do not)
        out["plaza_server_commit"] = subprocess.run(["git", "log", "-1", "--format=%h", "--", "server"], cwd=REPO,
                                                    capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "server"], cwd=REPO, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        out["plaza_server_dirty"] = bool(dirty)
    return out


def _machine() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, Linux {platform.release()}"


# ---------------------------------------------------------------------------------------------------- runs
class Server:
    def __init__(self, kind: str, workdir: Path):
        self.kind = kind
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{kind}-{self.port}.log"
        self.token: str | None = None
        self.proc: subprocess.Popen | None = None
        self.data_dir = workdir / f"plaza-data-{self.port}"

    def start(self) -> None:
        log = self.log.open("w")
        if self.kind == "plaza":
            self.data_dir.mkdir()
            env = {k: v for k, v in os.environ.items() if k not in ("PLAZA_OPERATOR_TOKEN", "PLAZA_SECRET")}
            self.proc = _start([sys.executable, "-m", "server", "serve", "--port", str(self.port),
                                "--data-dir", str(self.data_dir), "--log-level", "warning"],
                               cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
            _wait(lambda: _http_ok(f"{self.url}/healthz"), self.proc, "the Plaza server", self.log)
            self.token = (self.data_dir / "operator_token").read_text().strip()
        else:
            self.proc = _start(["node", "colyseus_server.mjs", "--port", str(self.port)], cwd=NODE_DIR,
                               stdout=log, stderr=subprocess.STDOUT)
            _wait(lambda: _port_open(self.port), self.proc, "the Colyseus server", self.log)
        log.close()

    def stats(self) -> dict | None:
        """Plaza's own counters (GET /api/stats), a cross-check of the generator's count."""
        if self.kind != "plaza":
            return None
        try:
            with urllib.request.urlopen(f"{self.url}/api/stats", timeout=5) as r:
                return json.loads(r.read())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


def _reader(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def run_one(kind: str, clients: int, rep: int, seconds: float, warmup: float, workdir: Path) -> dict:
    server = Server(kind, workdir)
    server.start()
    assert server.proc is not None
    cmd = ["node", "loadgen.mjs", "--target", kind, "--url", server.url, "--clients", str(clients),
           "--warmup", str(warmup), "--seconds", str(seconds), "--seed", str(rep + 1)]
    env = dict(os.environ)
    if server.token:
        env["PLAZA_OPERATOR_TOKEN"] = server.token  # not on the command line, where `ps` shows it
    gen_log = workdir / f"loadgen-{kind}-{clients}-{rep}.log"
    with gen_log.open("w") as gen_err:
        gen = _start(cmd, cwd=NODE_DIR, env=env, stdout=subprocess.PIPE, stderr=gen_err, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(gen.stdout, lines), daemon=True).start()
    deadline = time.monotonic() + 120 + warmup + seconds
    cpu0 = cpu1 = machine0 = machine1 = None
    t0 = t1 = 0.0
    stats0 = stats1 = None
    end = connected = None
    try:
        while end is None:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"the generator did not finish ({kind}, {clients} clients)") from None
            if line is None:
                gen.wait(10)
                raise RuntimeError(f"the generator exited with {gen.returncode} ({kind}, {clients} clients):\n"
                                   f"{_tail(gen_log)}\n{_tail(server.log)}")
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "start":
                cpu0, t0, machine0 = _cpu(server.proc.pid), time.monotonic(), _machine_cpu()
                stats0 = server.stats()
            elif event.get("event") == "end":
                cpu1, t1, machine1 = _cpu(server.proc.pid), time.monotonic(), _machine_cpu()
                stats1 = server.stats()
                end = event
            elif event.get("event") == "connected":
                connected = event
        gen.wait(30)
    finally:
        _stop(gen)
        server.stop()
    assert cpu0 is not None and cpu1 is not None and machine0 is not None and machine1 is not None
    user_s, sys_s = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    window = t1 - t0
    snaps = end["snapshots"]
    run = {
        "server": kind, "clients": clients, "rep": rep, "window_s": round(window, 3),
        "connect_s": connected and connected.get("connect_s"),
        "server_cpu": {"user_s": round(user_s, 3), "sys_s": round(sys_s, 3),
                       "share": round((user_s + sys_s) / window, 3)},
        "snapshots": snaps,
        # How busy the whole machine was (every process, all cores) and its load average: other people's
        # work shares these cores, which starves both servers alike when it is high.
        "machine_busy_share": _r(busy_share(machine0, machine1), 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "us_per_snapshot": _r(us_per_snapshot(user_s + sys_s, snaps)),
        "us_user_per_snapshot": _r(us_per_snapshot(user_s, snaps)),
        "us_sys_per_snapshot": _r(us_per_snapshot(sys_s, snaps)),
        "generator": end,
    }
    if stats0 and stats1:
        run["server_frames_out"] = stats1.get("frames_out", 0) - stats0.get("frames_out", 0)
        run["server_frames_in"] = stats1.get("frames_in", 0) - stats0.get("frames_in", 0)
        # snapshots encoded but replaced by a newer one before the socket took them (never delivered)
        run["server_frames_replaced"] = stats1.get("frames_replaced", 0) - stats0.get("frames_replaced", 0)
        run["server_late_ticks"] = stats1.get("late_ticks", 0) - stats0.get("late_ticks", 0)
        run["server_skipped_ticks"] = stats1.get("skipped_ticks", 0) - stats0.get("skipped_ticks", 0)
        run["server_tick_work_ms"] = stats1.get("tick_work_ms")
    run["flags"] = run_flags(end["generator_cpu"]["share"], end["receive_hz"]["mean"], end.get("disconnects", 0))
    return run


def _r(v: float | None, digits: int = 1) -> float | None:
    return None if v is None else round(v, digits)


# -------------------------------------------------------------------------------------------------- report
def summarize(runs: list[dict], sizes: list[int]) -> list[dict]:
    rows = []
    for n in sizes:
        row: dict = {"clients": n}
        per_rep: dict[str, dict[int, float]] = {}
        for kind in SERVERS:
            sel = [r for r in runs if r["server"] == kind and r["clients"] == n]
            g = [r["generator"] for r in sel]
            per_rep[kind] = {r["rep"]: r["us_per_snapshot"] for r in sel}
            row[kind] = {
                "reps": len(sel),
                "us_per_snapshot": _r(median([r["us_per_snapshot"] for r in sel])),
                "us_user_per_snapshot": _r(median([r["us_user_per_snapshot"] for r in sel])),
                "us_sys_per_snapshot": _r(median([r["us_sys_per_snapshot"] for r in sel])),
                "server_cpu_share": _r(median([r["server_cpu"]["share"] for r in sel]), 3),
                "bytes_per_avatar_per_tick": _r(median([x["bytes_per_avatar_per_tick"] for x in g])),
                "receive_hz": _r(median([x["receive_hz"]["mean"] for x in g]), 2),
                "receive_hz_p5": _r(median([x["receive_hz"]["p5"] for x in g]), 2),
                "upload_hz": _r(median([x["upload_hz"] for x in g]), 2),
                "rtt_p50_ms": _r(median([x["rtt_ms"]["p50"] for x in g])),
                "rtt_p99_ms": _r(median([x["rtt_ms"]["p99"] for x in g])),
                "gap_p99_ms": _r(median([x["snapshot_gap_ms"]["p99"] for x in g])),
                "machine_busy_share": _r(median([r.get("machine_busy_share") for r in sel]), 3),
                "load_average_1m": _r(median([r["load_average"][0] for r in sel if r.get("load_average")]), 1),
                "generator_cpu_share_max": _r(max((x["generator_cpu"]["share"] for x in g), default=None), 3),
                "flagged_reps": sum(1 for r in sel if r["flags"]),
                "flags": sorted({f for r in sel for f in r["flags"]}),
            }
        ratios = paired_ratios(per_rep["plaza"], per_rep["colyseus"])
        row["ratio_median"] = _r(median(ratios), 2)
        row["ratios"] = [round(x, 3) for x in ratios]
        rows.append(row)
    return rows


def _f(v, digits: int = 1) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def render_markdown(meta: dict, rows: list[dict], runs: list[dict], failures: list[dict] | None = None) -> str:
    v = meta["versions"]
    out = [
        "# Plaza vs Colyseus: server CPU per delivered snapshot, same workload",
        "",
        "Plaza's server as of commit "
        f"`{v.get('plaza_server_commit') or v.get('plaza_commit', '?')}`"
        + (" (with uncommitted changes in server/)" if v.get("plaza_server_dirty") else "")
        + (f": {meta['note']}" if meta.get("note") else "")
        + ". The figures of the websocket transport before issue 11 (a subclass of uvicorn's) are in "
        "`bench/versus-before.md`.",
        "",
        "One room, N clients, each uploading head + two controllers at 60 Hz with every value jittered every "
        "tick; every avatar to every client at 60 Hz. Medians over the repetitions; the ratio is taken per "
        "repetition (the two servers ran back to back, order alternating) and its median reported.",
        "",
        "| clients | Plaza µs CPU per delivered snapshot | Colyseus 0.18 | ratio (paired by repetition) "
        "| bytes per avatar per tick, Plaza / Colyseus | flagged runs, Plaza / Colyseus |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        p, c = row["plaza"], row["colyseus"]
        out.append(f"| {row['clients']} | {_f(p['us_per_snapshot'], 0)} | {_f(c['us_per_snapshot'], 0)} "
                   f"| {_f(row['ratio_median'], 2)} | {_f(p['bytes_per_avatar_per_tick'])} / "
                   f"{_f(c['bytes_per_avatar_per_tick'])} | {p['flagged_reps']}/{p['reps']} / "
                   f"{c['flagged_reps']}/{c['reps']} |")
    flagged = [r for r in runs if r["flags"]]
    busy = [r["machine_busy_share"] for r in runs if r.get("machine_busy_share") is not None]
    loads = [r["load_average"][0] for r in runs if r.get("load_average")]
    if flagged:
        out += [
            "",
            f"**{len(flagged)} of {len(runs)} runs are flagged** ("
            + ", ".join(sorted({f for r in flagged for f in r["flags"]})) + ")"
            + (f"; all cores were {median(busy) * 100:.0f}% busy (median over the windows)" if busy else "")
            + (f", load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores" if loads else "")
            + ". Where delivery is flagged, the servers (and the generator) were short of CPU: both delivered "
            "fewer than 60 snapshots a second and the generator's uploads fell behind too, so the two servers "
            "did not see quite the same upload rate (uploads column below). The CPU per snapshot is still each "
            "server's own CPU time over what it delivered, but a starved server amortises its per-tick costs "
            "differently: prefer figures from unflagged runs, and re-run on a quiet machine before reading "
            "small differences.",
        ]
    out += [
        "",
        "## Details (medians over the repetitions)",
        "",
        "| clients | server | µs per snapshot: total = user + sys | server CPU (share of a core) | delivery Hz "
        "per client, mean / p5 | uploads Hz per client | ping RTT p50 / p99 ms | snapshot gap p99 ms "
        "| generator CPU (max) | machine busy, load 1 min | flags (any repetition) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        for kind in SERVERS:
            s = row[kind]
            out.append(
                f"| {row['clients']} | {kind} | {_f(s['us_per_snapshot'])} = {_f(s['us_user_per_snapshot'])} + "
                f"{_f(s['us_sys_per_snapshot'])} | {_f(s['server_cpu_share'] and s['server_cpu_share'] * 100, 0)}% "
                f"| {_f(s['receive_hz'])} / {_f(s['receive_hz_p5'])} | {_f(s['upload_hz'])} "
                f"| {_f(s['rtt_p50_ms'])} / {_f(s['rtt_p99_ms'])} | {_f(s['gap_p99_ms'])} "
                f"| {_f(s['generator_cpu_share_max'] and s['generator_cpu_share_max'] * 100, 0)}% "
                f"| {_f(s.get('machine_busy_share') and s['machine_busy_share'] * 100, 0)}%, "
                f"{_f(s.get('load_average_1m'))} | {', '.join(s['flags']) or '-'} |")
    out += [
        "",
        "Per repetition, µs per snapshot Plaza / Colyseus (ratio):",
        "",
    ]
    for row in rows:
        parts = []
        for rep in sorted({r["rep"] for r in runs if r["clients"] == row["clients"]}):
            by = {r["server"]: r for r in runs if r["clients"] == row["clients"] and r["rep"] == rep}
            p, c = by.get("plaza"), by.get("colyseus")
            ratio = (p["us_per_snapshot"] / c["us_per_snapshot"]
                     if p and c and p["us_per_snapshot"] and c["us_per_snapshot"] else None)
            parts.append(f"{_f(p and p['us_per_snapshot'], 0)} / {_f(c and c['us_per_snapshot'], 0)} "
                         f"({_f(ratio, 2)})")
        out.append(f"- {row['clients']} clients: " + "; ".join(parts))
    out += [
        "",
        "## How it was run",
        "",
        f"- Command: `{meta['command']}` ({meta['reps']} repetition{'' if meta['reps'] == 1 else 's'}, "
        f"{meta['seconds']:g} s measured after "
        f"{meta['warmup']:g} s of warm-up per run; every run starts its server fresh).",
        f"- Machine: {meta['machine']}; load average {meta['load_before']} before, {meta['load_after']} after "
        "(the machine is shared: other people's test suites ran alongside, which is why CPU time from /proc, "
        "not wall time, is the figure).",
        f"- Versions: Python {v.get('python')}, Node {v.get('node')}, @colyseus/core {v.get('@colyseus/core')}, "
        f"@colyseus/ws-transport {v.get('@colyseus/ws-transport')}, @colyseus/schema {v.get('@colyseus/schema')}, "
        f"ws {v.get('ws')}; Plaza checkout {v.get('plaza_commit')} (server/ as of "
        f"{v.get('plaza_server_commit', '?')}); {meta['date']}.",
        "- Plaza: `python -m server serve --port P --data-dir <fresh temp dir>`, a room created with "
        "`interest: \"all\"`, seats reserved with the operator token the server wrote to its data directory; "
        "protocol v2, 92-byte pose uploads whose `ack` is the newest snapshot tick received.",
        "- Colyseus: bench/versus/colyseus_server.mjs, one room whose schema holds head + two controllers per "
        "avatar (7 float32 each), a \"pose\" message per client per tick (msgpack array of 21 numbers, as "
        "`room.send` encodes it: 198 bytes), `patchRate` 1000/60 ms.",
        "- Server CPU: utime + stime of the server process from /proc/<pid>/stat, read when the generator "
        "opens and closes its window; divided by the snapshots the generator received in that window "
        "(Plaza: binary frames of kind 0x02; Colyseus: ROOM_STATE_PATCH messages).",
        "- Bytes per avatar per tick: websocket payload bytes of those snapshots / snapshots / clients (no "
        "websocket or TCP framing). Values are jittered every tick (±2 cm, ±2° or so), which is the worst case "
        "for Plaza's delta codec; humanlike motion codes smaller.",
        "- Latency: the round trip of an application-level ping on the same websocket, queued behind the pose "
        "traffic, from a sample of clients (one in ten, at least five) every 200 ms: Plaza's `{\"t\": \"ping\"}` "
        "→ `pong`, Colyseus' PING protocol message echoed by the room. It includes both event loops' lag. "
        "Colyseus answers as the ping arrives; Plaza, with 32 or more sessions open, reads its sockets once per "
        "tick (server/net/paced_loop.py), so its pong waits for the next tick, half a tick on average: that is "
        "the price of its fewer wake-ups. Pose uploads do not pay it (the tick applies them at the tick "
        "either way). Snapshot gap: time "
        "between consecutive snapshots at the same sample clients.",
        "- Machine busy: the share of all cores' time that was not idle during the window (every process, "
        "from /proc/stat); load 1 min: the load average at the end of the run. Both tell how much other work "
        "competed with the benchmark.",
        f"- Flags: a run is flagged when the generator used more than {GENERATOR_SATURATED:.0%} of a core, when "
        f"delivery fell below {MIN_DELIVERY_HZ:g} Hz per client, or when clients were disconnected; a flagged "
        "figure may measure the machine or the generator, not the server.",
        "",
    ]
    if failures:
        out += ["## Failed runs", ""] + [
            f"- rep {f['rep'] + 1}, {f['clients']} clients, {f['server']}: {f['error'].splitlines()[0]}"
            for f in failures] + [""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/versus.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="50,100,200", help="room sizes, comma-separated (default 50,100,200)")
    parser.add_argument("--reps", type=int, default=4, help="interleaved repetitions (default 4)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window per run (default 20 s)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds after every client is in (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 20 clients, 1 repetition, 3 s; writes bench/versus-quick.*")
    parser.add_argument("--render", metavar="JSON", default=None,
                        help="only rewrite the markdown next to an existing results file (no runs)")
    args = parser.parse_args(argv)
    if args.render:
        path = Path(args.render)
        data = json.loads(path.read_text())
        path.with_suffix(".md").write_text(
            render_markdown(data["meta"], data["summary"], data["runs"], data.get("failures")))
        return 0
    if args.quick:
        sizes, reps, seconds, warmup, stem = [20], 1, 3.0, 2.0, "versus-quick"
    else:
        sizes = [int(x) for x in args.clients.split(",") if x.strip()]
        reps, seconds, warmup, stem = args.reps, args.seconds, args.warmup, "versus"
    # Children run in sessions of their own (a ctrl-c reaches only this process), so they are stopped
    # here; SIGINT is set explicitly because a shell that starts a job in the background ignores it.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)
    ensure_node_packages()
    meta = {
        "command": "python bench/versus.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip(),
        "machine": _machine(), "versions": _versions(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "reps": reps, "seconds": seconds, "warmup": warmup, "clients": sizes,
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "latency": "round trip of an application ping on the same websocket (ms)",
        "note": "its own websocket transport (server/net/session.py) on asyncio's loop with the tick-paced "
                "selector (server/net/paced_loop.py)",
    }
    runs: list[dict] = []
    failures: list[dict] = []
    workdir = Path(tempfile.mkdtemp(prefix="plaza-versus-"))
    order = interleaved_order(reps, sizes)
    try:
        for i, (rep, n, kind) in enumerate(order, 1):
            print(f"[{i}/{len(order)}] rep {rep + 1}, {n} clients, {kind} ...", end=" ", flush=True)
            try:
                run = run_one(kind, n, rep, seconds, warmup, workdir)
            except RuntimeError as exc:  # one failed run is reported, the others still count
                print(f"FAILED: {exc}", flush=True)
                failures.append({"server": kind, "clients": n, "rep": rep, "error": str(exc)[-2000:]})
                continue
            runs.append(run)
            g = run["generator"]
            print(f"{run['us_per_snapshot']} µs/snapshot (user {run['us_user_per_snapshot']} + sys "
                  f"{run['us_sys_per_snapshot']}), {g['receive_hz']['mean']} Hz, {g['bytes_per_avatar_per_tick']} "
                  f"B/avatar, rtt p99 {g['rtt_ms']['p99']} ms, generator {g['generator_cpu']['share'] * 100:.0f}%"
                  + (f"  [{'; '.join(run['flags'])}]" if run["flags"] else ""), flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the servers", file=sys.stderr)
        return 130
    finally:
        _stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    meta["load_after"] = [round(x, 2) for x in os.getloadavg()]
    rows = summarize(runs, sizes)
    OUT.mkdir(exist_ok=True)
    (OUT / f"{stem}.json").write_text(json.dumps({"meta": meta, "summary": rows, "runs": runs, "failures": failures},
                                                  indent=2) + "\n")
    md = render_markdown(meta, rows, runs, failures)
    (OUT / f"{stem}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
