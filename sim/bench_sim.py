"""The simulator's own cost: `python -m sim.bench_sim` writes bench/sim.json and bench/sim.md.

Starts a real server (`python -m server serve` on a free port, a fresh data directory), then for each size runs
`python -m sim load` in a fresh room as its own process and records what the simulator used (CPU per process
from getrusage, per bot per second and per upload sent), what it sent, what the server received (its
`frames_in` counter over the window), what each bot was delivered, the latency the decoding bots saw, and
whether the simulator flagged itself saturated. With `--baseline-rev REV` the `sim load` of an earlier commit
(its sim/load.py, run on today's client and motion modules) is measured too, at `--baseline-sizes` (default:
the first size), with the same number of decoding bots.

The server reading 1,000 bots at 60 Hz is CPU-bound on a small machine: the simulator's figures are its own and
the server's received rate is reported next to them, not folded in.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.bench_realtime import _free_port, _up
from sim.client import http_json

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench"
BEGIN = "<!-- BEGIN GENERATED (python -m sim.bench_sim: {label}) -->"
END = "<!-- END GENERATED ({label}) -->"


def _room(url: str, bots: int, interest: str, scene: str, token: str) -> str:
    status, room = http_json("POST", f"{url}/api/rooms", {
        "name": f"sim bench {bots}", "scene": scene, "capacity": bots + 5, "interest": interest},
        operator_token=token)
    if status != 201:
        raise RuntimeError(f"could not create a room: {room}")
    return room["id"]


def _load(url: str, room: str, args: argparse.Namespace, bots: int, procs: int, env: dict,
          baseline: Path | None = None) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    flags = ["--url", url, "--room", room, "--bots", str(bots), "--seconds", str(args.seconds),
             "--warmup", str(args.warmup), "--send-hz", str(args.send_hz), "--json", out]
    if baseline is None:
        cmd = [sys.executable, "-m", "sim", "load", *flags, "--decode", str(args.decode), "--procs", str(procs),
               "--no-progress"]
    else:  # an earlier sim/load.py: its own flags only
        cmd = [sys.executable, "-c", "import runpy, sys; sys.exit(runpy.run_path(sys.argv[1])['main'](sys.argv[2:]))",
               str(baseline), *flags, "--decode", str(args.decode)]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env,
                          timeout=args.seconds + args.warmup + 120 + bots * args.connect_s_per_bot)
    if proc.returncode != 0:
        raise RuntimeError(f"sim failed for {bots} bots:\n{proc.stderr[-3000:]}")
    print(proc.stdout, flush=True)
    with open(out) as f:
        report = json.load(f)
    os.unlink(out)
    report["wall_s"] = time.monotonic() - t0
    return report


def _row(label: str, interest: str, r: dict) -> dict:
    up = r.get("upload_hz") or {}
    window = r["seconds"]
    sent_total = (up.get("sent") or 0) * window
    procs = r.get("processes") or []
    return {
        "label": label, "bots": r["bots"], "connected": r["connected"], "interest": interest,
        "procs": r.get("procs", 1), "decode": r.get("decode"),
        "sim_cpu_share": r["sim_cpu_share"],
        "sim_cpu_us_per_bot_s": r.get("sim_cpu_us_per_bot_s") or r["sim_cpu_share"] / r["connected"] * 1e6,
        "lean_cpu_us_per_bot_s": r.get("lean_cpu_us_per_bot_s"),
        "sim_cpu_us_per_upload": r["sim_cpu_s"] / sent_total * 1e6 if sent_total else None,
        "projected_cores_at_full_rate": r.get("projected_cores_at_full_rate"), "connect_s": r.get("connect_s"),
        "sent_hz_per_bot": up.get("sent_per_bot"), "server_hz_per_bot": up.get("server_per_bot"),
        "receive_hz": r["receive_hz"], "latency_ms": r["latency_ms"],
        "tick_lag_p99_ms": max((p["lag_ms"]["p99"] or 0) for p in procs) if procs else None,
        "ticks_skipped": sum(p["ticks_missed"] for p in procs) if procs else None,
        "server_cpu_share": r["server"].get("cpu_share"),
        "server_tick_p99_ms": r["server"].get("tick_work_ms", {}).get("p99"),
        "saturated": r.get("saturated"), "saturation": r.get("saturation", []),
        "disconnects": r["disconnects"], "decode_errors": r.get("decode_errors"),
    }


def _f(v, digits: int = 1) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _pct(v) -> str:
    return "n/a" if v is None else f"{v * 100:.0f}%"


def table(rows: list[dict]) -> str:
    head = ("| simulator | bots | interest | procs | sim CPU (cores) | µs CPU per bot per s "
            "| lean bots µs per bot per s | µs CPU per upload sent | projected cores at the full rate "
            "| uploads sent Hz per bot | server received Hz per bot | snapshots received Hz per bot p5 / p50 "
            "| latency p50 / p99 ms | sim tick lag p99 ms | ticks skipped | server CPU | saturated |")
    lines = [head, "|" + " --- |" * 17]
    for r in rows:
        hz, lat = r["receive_hz"], r["latency_ms"]
        saturated = "yes: " + "; ".join(r["saturation"]) if r["saturated"] else "no"
        lines.append(
            f"| {r['label']} | {r['connected']} | {r['interest']} | {r['procs']} | {_f(r['sim_cpu_share'], 2)} "
            f"| {_f(r['sim_cpu_us_per_bot_s'], 0)} | {_f(r['lean_cpu_us_per_bot_s'], 0)} "
            f"| {_f(r['sim_cpu_us_per_upload'])} | {_f(r['projected_cores_at_full_rate'], 2)} "
            f"| {_f(r['sent_hz_per_bot'])} | {_f(r['server_hz_per_bot'])} | {_f(hz['p5'])} / {_f(hz['p50'])} "
            f"| {_f(lat['p50'])} / {_f(lat['p99'])} | {_f(r['tick_lag_p99_ms'])} | {r['ticks_skipped']} "
            f"| {_pct(r['server_cpu_share'])} | {saturated} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.bench_sim", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,500,1000", help="bot counts (default 100,500,1000)")
    parser.add_argument("--procs", default="1", help="simulator processes per size, comma-separated (default 1)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per size")
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--send-hz", type=float, default=60.0)
    parser.add_argument("--decode", type=int, default=1, help="decoding bots per run (default 1)")
    parser.add_argument("--interest", default="auto", choices=["auto", "all", "nearby"])
    parser.add_argument("--scene", default="launch-hall")
    parser.add_argument("--baseline-rev", default=None, help="also measure this commit's sim/load.py")
    parser.add_argument("--baseline-sizes", default=None, help="sizes for the baseline (default: the first size)")
    parser.add_argument("--target", default="server", choices=["server", "sink"],
                        help="what the bots load: the real server, or sim.sink (a stand-in that costs little and "
                             "sends every client a 50-avatar snapshot at 60 Hz, to measure the simulator alone)")
    parser.add_argument("--connect-s-per-bot", type=float, default=1.0,
                        help="time allowed for connecting, per bot (a loaded server joins slowly)")
    parser.add_argument("--label", default=None,
                        help="name of this run's block in sim.md and key in sim.json (default: the target); a run "
                             "replaces the earlier block of the same name")
    parser.add_argument("--render", action="store_true", help="only rewrite sim.md's tables from sim.json")
    parser.add_argument("--out", default=str(OUT), help="directory for sim.json and sim.md")
    args = parser.parse_args(argv)
    if args.render:
        render(Path(args.out))
        return 0
    sizes = [int(n) for n in args.sizes.split(",") if n]
    procs_list = [int(p) for p in args.procs.split(",") if p]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp(prefix="plaza-sim-bench-")
    token = secrets.token_urlsafe(24)
    env = {**os.environ, "PLAZA_OPERATOR_TOKEN": token}
    serve = ["-m", "server", "serve", "--port", str(port), "--data-dir", data_dir, "--log-level", "warning"]
    if args.target == "sink":
        serve = ["-m", "sim.sink", "--port", str(port)]
    server = subprocess.Popen([sys.executable, *serve], cwd=REPO, env=env)
    rows: list[dict] = []
    raw: list[dict] = []
    failures: list[dict] = []
    baseline_file = None
    try:
        deadline = time.monotonic() + 60
        while not _up(url):
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.3)
        if args.baseline_rev:
            source = subprocess.run(["git", "show", f"{args.baseline_rev}:sim/load.py"], cwd=REPO,
                                    capture_output=True, text=True, check=True).stdout
            with tempfile.NamedTemporaryFile("w", suffix="_load.py", delete=False) as f:
                f.write(source)
                baseline_file = Path(f.name)
        baseline_sizes = [int(n) for n in args.baseline_sizes.split(",") if n] if args.baseline_sizes else sizes[:1]
        for bots in sizes:
            if baseline_file is not None and bots in baseline_sizes:
                print(f"== baseline {args.baseline_rev}: {bots} bots", flush=True)
                try:
                    r = _load(url, _room(url, bots, args.interest, args.scene, token), args, bots, 1, env,
                              baseline_file)
                    interest = args.interest if args.target == "server" else "sink: 50 avatars"
                    rows.append(_row(f"sim load at {args.baseline_rev}", interest, r))
                    raw.append(r)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    print(f"failed: {exc}"[:2000], flush=True)
                    failures.append({"bots": bots, "procs": 1, "error": f"baseline: {exc}"[:500]})
                time.sleep(3)
            for procs in procs_list:
                print(f"== {bots} bots, {procs} process(es)", flush=True)
                try:
                    r = _load(url, _room(url, bots, args.interest, args.scene, token), args, bots, procs, env)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    print(f"failed: {exc}"[:2000], flush=True)
                    failures.append({"bots": bots, "procs": procs, "error": str(exc)[:500]})
                    continue
                interest = args.interest if args.interest != "auto" else ("all" if bots <= 250 else "nearby")
                if args.target == "sink":
                    interest = "sink: 50 avatars"
                rows.append(_row("sim load (lean bots)", interest, r))
                raw.append(r)
                time.sleep(3)
    finally:
        server.terminate()
        server.wait(20)
        if baseline_file is not None:
            baseline_file.unlink()
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    command = "python -m sim.bench_sim " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {"command": command.strip(), "date": time.strftime("%Y-%m-%d %H:%M"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "load_average_at_end": os.getloadavg(), "seconds": args.seconds, "warmup": args.warmup,
            "scene": args.scene, "target": args.target, "send_hz": args.send_hz}
    path = out / "sim.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    saved[args.label or args.target] = {"meta": meta, "rows": rows, "failures": failures, "reports": raw}
    path.write_text(json.dumps(saved, indent=2))
    render(out)
    print(table(rows))
    return 0


def _block(label: str, run: dict) -> str:
    meta, rows, failures = run["meta"], run["rows"], run.get("failures", [])
    return (f"{BEGIN.format(label=label)}\n\n{meta['date']}, {meta['machine']}, load average at the end "
            f"{', '.join(f'{x:.1f}' for x in meta['load_average_at_end'])}; scene {meta['scene']}; "
            f"target {meta['target']}; {meta['seconds']:g} s measured after {meta['warmup']:g} s of warm-up; "
            f"uploads at {meta.get('send_hz', 60):g} Hz (head + two controllers). Command: `{meta['command']}`.\n\n"
            f"{table(rows)}\n"
            + "".join(f"\nFailed: {f['bots']} bots, {f['procs']} process(es): {f['error'][:200]}\n" for f in failures)
            + f"\n{END.format(label=label)}")


def render(out: Path) -> None:
    """Rewrite the generated blocks of sim.md from sim.json (the text around them is kept)."""
    saved = json.loads((out / "sim.json").read_text())
    md = out / "sim.md"
    text = md.read_text() if md.exists() else "# Simulator cost\n\n"
    for label, run in saved.items():
        begin, end = BEGIN.format(label=label), END.format(label=label)
        block = _block(label, run)
        if begin in text and end in text:
            text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
    md.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
