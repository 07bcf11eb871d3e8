"""`python -m assets.bench_models`: serving glTF models, Plaza vs `python -m http.server`, side by side.

Both servers run as their own processes on 127.0.0.1 and serve the same generated .glb files; the
load generator (this process) keeps CONNECTIONS keep-alive connections busy for SECONDS per scenario
and records every request's latency. Scenarios: full GET (identity), GET with gzip (Plaza only),
and revalidation (304: If-None-Match for Plaza, If-Modified-Since for http.server).
Writes bench/models.json and bench/models.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import numpy as np

from assets.build import OUT, ensure_built

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
ROUNDS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start within {timeout} s")


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> tuple[int, int, bool]:
    """Send one request, read the whole response. Returns (status, body bytes, server keeps the connection)."""
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    length = int(headers.get("content-length", "0")) if status not in (204, 304) else 0
    if length:
        await reader.readexactly(length)
    keep = headers.get("connection", "").lower() != "close" and lines[0].startswith("HTTP/1.1")
    return status, length, keep


async def _worker(port: int, requests: list[bytes], stop_at: float, max_requests: int, out: list[float],
                  statuses: dict[int, int], offset: int) -> None:
    reader = writer = None
    i = offset
    while time.perf_counter() < stop_at and len(out) < max_requests:
        raw = requests[i % len(requests)]
        i += 1
        t0 = time.perf_counter()
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        status, _, keep = await _request(reader, writer, raw)
        out.append(time.perf_counter() - t0)
        statuses[status] = statuses.get(status, 0) + 1
        if not keep:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def _run(port: int, requests: list[bytes], seconds: float, connections: int, max_requests: int,
               latencies: list[float], statuses: dict[int, int]) -> float:
    """Load one server for `seconds`; appends to latencies/statuses and returns the elapsed time."""
    start = time.perf_counter()
    stop_at = start + seconds
    cap = len(latencies) + max_requests
    await asyncio.gather(*(_worker(port, requests, stop_at, cap, latencies, statuses, k * 7)
                           for k in range(connections)))
    return time.perf_counter() - start


def _summary(latencies: list[float], statuses: dict[int, int], elapsed: float) -> dict[str, Any]:
    lat = np.array(latencies) * 1000
    return {"requests": len(lat), "seconds": round(elapsed, 3), "rps": round(len(lat) / elapsed, 1),
            "p50_ms": round(float(np.percentile(lat, 50)), 3), "p99_ms": round(float(np.percentile(lat, 99)), 3),
            "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def _get(path: str, port: int, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assets.bench_models", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each scenario (default 3)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections (default 8)")
    parser.add_argument("--max-requests", type=int, default=50_000, help="cap per scenario (default 50000)")
    parser.add_argument("--out", type=Path, default=BENCH, help="where models.json/models.md go (default bench/)")
    args = parser.parse_args(argv)
    if not 0.2 <= args.seconds <= 60 or not 1 <= args.connections <= 64:
        parser.error("keep --seconds within 0.2-60 and --connections within 1-64")

    _, manifest = ensure_built()
    files = sorted(e["file"] for e in manifest["models"].values())
    models_dir = OUT / "models"
    sizes = [(models_dir / f).stat().st_size for f in files]
    plaza_port, static_port, static10_port = _free_port(), _free_port(), _free_port()
    code = ("import uvicorn; from server.net.app import create_app; "
            f"uvicorn.run(create_app(), host='127.0.0.1', port={plaza_port}, log_level='warning', access_log=False)")
    procs = [
        subprocess.Popen([sys.executable, "-c", code], cwd=REPO),
        subprocess.Popen([sys.executable, "-m", "http.server", str(static_port), "--bind", "127.0.0.1",
                          "--directory", str(models_dir), "--protocol", "HTTP/1.1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        # Its default protocol, HTTP/1.0: a new connection per request (which avoids the 40 ms stall that
        # its HTTP/1.1 mode hits when headers and body go out in separate small writes).
        subprocess.Popen([sys.executable, "-m", "http.server", str(static10_port), "--bind", "127.0.0.1",
                          "--directory", str(models_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        _wait_up(plaza_port)
        _wait_up(static_port)
        _wait_up(static10_port)
        etags = {}
        for f in files:  # the ETag Plaza sends is the start of the content hash in the manifest
            e = manifest["models"][f.split(".")[0]]
            etags[f] = f'"{e["sha256"][:32]}"'
        ims = formatdate(time.time() + 3600, usegmt=True)
        scenarios: dict[str, tuple[int, list[bytes]]] = {
            "plaza_get": (plaza_port, [_get(f"/assets/models/{f}", plaza_port, "Accept-Encoding: identity\r\n")
                                       for f in files]),
            "static_get": (static_port, [_get(f"/{f}", static_port) for f in files]),
            "static_get_http10": (static10_port, [_get(f"/{f}", static10_port) for f in files]),
            "plaza_get_gzip": (plaza_port, [_get(f"/assets/models/{f}", plaza_port, "Accept-Encoding: gzip\r\n")
                                            for f in files]),
            "plaza_304": (plaza_port, [_get(f"/assets/models/{f}", plaza_port, f"If-None-Match: {etags[f]}\r\n")
                                       for f in files]),
            "static_304": (static_port, [_get(f"/{f}", static_port, f"If-Modified-Since: {ims}\r\n") for f in files]),
            "static_304_http10": (static10_port, [_get(f"/{f}", static10_port, f"If-Modified-Since: {ims}\r\n")
                                                  for f in files]),
        }
        for port, reqs in scenarios.values():  # warm-up, not measured
            asyncio.run(_run(port, reqs, 0.3, 2, 200, [], {}))
        # Interleaved rounds: a burst of load from a neighbour on this shared machine hits every
        # scenario alike instead of whichever happened to run at that moment.
        state = {name: ([], {}, 0.0) for name in scenarios}
        for _ in range(ROUNDS):
            for name, (port, reqs) in scenarios.items():
                lat, st, elapsed = state[name]
                took = asyncio.run(_run(port, reqs, args.seconds / ROUNDS, args.connections,
                                        args.max_requests // ROUNDS, lat, st))
                state[name] = (lat, st, elapsed + took)
        results = {name: _summary(*state[name]) for name in scenarios}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)

    report: dict[str, Any] = {
        "command": "python -m assets.bench_models " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "setup": {"seconds_per_scenario": args.seconds, "connections": args.connections, "files": len(files),
                  "mean_file_bytes": int(np.mean(sizes)), "total_bytes": int(sum(sizes)),
                  "plaza": "uvicorn (1 process) + FastAPI route, files cached in memory",
                  "static": "python -m http.server (threaded, reads from disk), HTTP/1.1 keep-alive and its default "
                            "HTTP/1.0 (one connection per request)",
                  "client": "this process, asyncio keep-alive connections on 127.0.0.1"},
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "models.json").write_text(json.dumps(report, indent=1) + "\n")
    rows = [("Full GET (same bytes), http.server HTTP/1.1", "plaza_get", "static_get"),
            ("Full GET (same bytes), http.server HTTP/1.0", "plaza_get", "static_get_http10"),
            ("Revalidation (304), http.server HTTP/1.1", "plaza_304", "static_304"),
            ("Revalidation (304), http.server HTTP/1.0", "plaza_304", "static_304_http10"),
            ("GET, gzip (Plaza only)", "plaza_get_gzip", None)]
    md = ["# Model serving benchmark", "",
          f"`{report['command'].strip()}` on {os.cpu_count()} CPUs, Python {platform.python_version()}: "
          f"{len(files)} product models (mean {report['setup']['mean_file_bytes'] / 1024:.1f} KiB), "
          f"{args.connections} keep-alive connections, {args.seconds:g} s per scenario in {ROUNDS} interleaved rounds, "
          "servers and client on "
          "127.0.0.1, each in its own process. The machine is shared, so absolute numbers move between runs; "
          "the side-by-side ratio is the point.", "",
          "| scenario | Plaza req/s | Plaza p50 ms | Plaza p99 ms | http.server req/s | http.server p50 ms | "
          "http.server p99 ms |", "|---|---:|---:|---:|---:|---:|---:|"]
    for label, a, b in rows:
        ra = results[a]
        rb = results[b] if b else None
        right = f"{rb['rps']:.0f} | {rb['p50_ms']:.2f} | {rb['p99_ms']:.2f}" if rb else "n/a | n/a | n/a"
        md.append(f"| {label} | {ra['rps']:.0f} | {ra['p50_ms']:.2f} | {ra['p99_ms']:.2f} | {right} |")
    md += ["", "Status counts: " + "; ".join(f"{k}: {v['statuses']}" for k, v in results.items()), ""]
    (args.out / "models.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
