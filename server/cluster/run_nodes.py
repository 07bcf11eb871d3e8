"""`make run NODES=3`: several Plaza nodes on one machine sharing one Redis (docs/SCALING.md).

Node i listens on PORT+i with node id `n<i>` and its own data directory (var/n<i>); every node allows the
others' origins (a page served by one node opens its websocket at the room's owner). Ctrl-C stops them all.
On several machines run `python -m server serve --redis URL --node-id ID --public-url URL` on each instead.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.cluster.run_nodes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="the first node's port; node i uses PORT+i")
    parser.add_argument("--scene", default="boutique")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--redis-prefix", default="plaza:")
    parser.add_argument("--data-dir", default="var")
    args = parser.parse_args(argv)
    urls = [f"http://{args.host}:{args.port + i}" for i in range(args.nodes)]
    origins = [o for url in urls for o in ("--origin", url, "--origin", url.replace("127.0.0.1", "localhost"))]
    procs = []
    for i, url in enumerate(urls):
        command = [sys.executable, "-m", "server", "serve", "--host", args.host, "--port", str(args.port + i),
                   "--scene", args.scene, "--redis", args.redis, "--redis-prefix", args.redis_prefix,
                   "--node-id", f"n{i}", "--data-dir", os.path.join(args.data_dir, f"n{i}"), *origins]
        procs.append(subprocess.Popen(command))
        print(f"node n{i}: {url}", file=sys.stderr)
    print("Open any of them; rooms are placed on the nodes by load. Ctrl-C stops every node.", file=sys.stderr)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
    return max((p.returncode or 0) for p in procs)


if __name__ == "__main__":
    raise SystemExit(main())
