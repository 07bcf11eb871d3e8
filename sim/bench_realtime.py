"""`make bench` for the real-time core: a server process and a simulator process at several room sizes.

Writes bench/realtime.json, bench/realtime.md and bench/realtime.png. Each size runs in a fresh room of
the `launch-hall` scene (56 x 56 m), all-to-all for the first series and interest-managed for the second.
The simulator shares this machine's cores with the server, so its own CPU is reported next to the server's,
with the upload rate the server received and whether the simulator flagged itself saturated (then that row
measures the simulator, not the server).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.client import http_json

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench"
ALL_TO_ALL = (25, 50, 100, 200, 400)
INTEREST = (100, 200, 400, 800, 1000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_size(url: str, bots: int, interest: str, seconds: float, send_hz: float, env: dict,
              decode: int = 1, procs: int = 1) -> dict:
    status, room = http_json("POST", f"{url}/api/rooms", {
        "name": f"bench {interest} {bots}", "scene": "launch-hall", "capacity": bots + 5, "interest": interest},
        operator_token=env["PLAZA_OPERATOR_TOKEN"])
    if status != 201:
        raise RuntimeError(f"could not create a room: {room}")
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = [sys.executable, "-m", "sim", "load", "--url", url, "--room", room["id"], "--bots", str(bots),
           "--seconds", str(seconds), "--warmup", "4", "--send-hz", str(send_hz), "--json", out,
           "--decode", str(decode), "--procs", str(procs), "--no-progress"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=seconds + 240, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"sim failed for {bots} bots:\n{proc.stderr[-2000:]}")
    print(proc.stdout, flush=True)
    with open(out) as f:
        report = json.load(f)
    os.unlink(out)
    report["interest"] = interest
    return report


def _table(rows: list[dict]) -> str:
    head = ("| mode | bots | recv Hz p5 / p50 | latency p50 / p99 ms | KiB/s per client | B per avatar per tick "
            "| avatars per frame | tick work p50 / p99 ms | late / skipped ticks | server CPU | server us per snapshot "
            "| server received uploads Hz per bot | sim CPU | sim saturated | disconnects |")
    lines = [head, "|" + " --- |" * 15]
    for r in rows:
        s, t = r["server"], r["server"].get("tick_work_ms", {})
        lat = r["latency_ms"]
        lines.append(
            f"| {r['interest']} | {r['bots']} | {r['receive_hz']['p5']:.1f} / {r['receive_hz']['p50']:.1f} "
            f"| {_f(lat['p50'])} / {_f(lat['p99'])} | {r['bytes_per_s_per_client'] / 1024:.1f} "
            f"| {_f(r['bytes_per_avatar_per_tick'])} | {_f(r['avatars_per_frame'])} "
            f"| {_f(t.get('p50'))} / {_f(t.get('p99'))} | {s.get('late_ticks')} / {s.get('skipped_ticks')} "
            f"| {s.get('cpu_share', 0) * 100:.0f}% | {_f(s.get('cpu_us_per_frame'))} "
            f"| {_f((r.get('upload_hz') or {}).get('server_per_bot'))} "
            f"| {r['sim_cpu_share'] * 100:.0f}% | {'yes' if r.get('saturated') else 'no'} | {r['disconnects']} |")
    return "\n".join(lines)


def _f(v) -> str:
    return "n/a" if v is None else f"{v:.1f}"


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for mode, marker in (("all", "o"), ("nearby", "s")):
        sel = [r for r in rows if r["interest"] == mode]
        if not sel:
            continue
        n = [r["bots"] for r in sel]
        axes[0].plot(n, [r["server"].get("tick_work_ms", {}).get("p99") or 0 for r in sel], marker=marker, label=mode)
        axes[1].plot(n, [(r["server"].get("cpu_us_per_frame") or 0) for r in sel], marker=marker, label=mode)
        axes[2].plot(n, [r["bytes_per_s_per_client"] / 1024 for r in sel], marker=marker, label=mode)
    axes[0].axhline(8.0, color="grey", linestyle="--", linewidth=1)
    axes[0].set(title="tick work p99 (ms)", xlabel="avatars in the room")
    axes[1].set(title="server CPU per delivered snapshot (us)", xlabel="avatars in the room")
    axes[2].set(title="bandwidth per client (KiB/s)", xlabel="avatars in the room")
    for ax in axes:
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.bench_realtime")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per size")
    parser.add_argument("--all", default=",".join(map(str, ALL_TO_ALL)), help="all-to-all sizes")
    parser.add_argument("--nearby", default=",".join(map(str, INTEREST)), help="interest-managed sizes")
    parser.add_argument("--send-hz", type=float, default=60.0)
    parser.add_argument("--decode", type=int, default=1, help="decoding bots per size (sim load --decode)")
    parser.add_argument("--procs", type=int, default=1, help="simulator processes (sim load --procs)")
    args = parser.parse_args(argv)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp(prefix="plaza-bench-")
    token = secrets.token_urlsafe(24)  # the operator token lifts per-address limits for the bots
    env = {**os.environ, "PLAZA_OPERATOR_TOKEN": token}
    server = subprocess.Popen([sys.executable, "-m", "server", "serve", "--port", str(port), "--data-dir", data_dir,
                               "--log-level", "warning"], cwd=REPO, env=env)
    rows: list[dict] = []
    try:
        deadline = time.monotonic() + 30
        while not _up(url):
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        sizes = [("all", int(n)) for n in args.all.split(",") if n] + \
                [("nearby", int(n)) for n in args.nearby.split(",") if n]
        for mode, bots in sizes:
            print(f"== {mode} {bots} bots", flush=True)
            rows.append(_run_size(url, bots, mode, args.seconds, args.send_hz, env, args.decode, args.procs))
            time.sleep(2)
    finally:
        server.terminate()
        server.wait(10)
    OUT.mkdir(exist_ok=True)
    meta = {"command": "make bench (python -m sim.bench_realtime " + " ".join(argv or []) + ")",
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "date": time.strftime("%Y-%m-%d %H:%M"), "seconds_per_size": args.seconds,
            "load_average_at_end": os.getloadavg()}
    (OUT / "realtime.json").write_text(json.dumps({"meta": meta, "runs": rows}, indent=2))
    (OUT / "realtime.md").write_text(
        f"# Real-time core benchmark\n\n{meta['date']}, {meta['machine']}; server and simulator as two processes on "
        f"this machine; {args.seconds:g} s measured per size after a 4 s warm-up; bots upload at "
        f"{args.send_hz:g} Hz. Command: `{meta['command']}`. Load average at the end: "
        f"{', '.join(f'{x:.1f}' for x in meta['load_average_at_end'])}.\n\n{_table(rows)}\n")
    _plot(rows, OUT / "realtime.png")
    print(_table(rows))
    return 0


def _up(url: str) -> bool:
    try:
        return http_json("GET", f"{url}/healthz", timeout=2)[0] == 200
    except OSError:
        return False


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
