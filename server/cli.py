"""Command line: `python -m server serve --host --port --scene ...`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from server.config import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m server", description="Plaza real-time 3D store server.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the store (HTTP API, websocket rooms, client)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    serve.add_argument("--scene", default="boutique", help="default store scene id (default boutique)")
    serve.add_argument(
        "--origin",
        action="append",
        default=None,
        help="allowed websocket Origin (repeatable; '*' allows any). Default: the server's own URL.",
    )
    serve.add_argument("--data-dir", default="var", help="where SQLite and other state live (default var/)")
    serve.add_argument("--redis", default=os.environ.get("PLAZA_REDIS_URL"), metavar="URL",
                       help="keep bags, stock and orders in Redis at URL (default: SQLite in the data directory; "
                            "env PLAZA_REDIS_URL)")
    serve.add_argument("--redis-prefix", default=os.environ.get("PLAZA_REDIS_PREFIX", "plaza:"), metavar="PREFIX",
                       help="key prefix in Redis (default plaza:), so several stores can share one Redis")
    serve.add_argument("--node-id", default=os.environ.get("PLAZA_NODE_ID"), metavar="ID",
                       help="with --redis: run as one node of a cluster sharing one store (docs/SCALING.md)")
    serve.add_argument("--public-url", default=os.environ.get("PLAZA_PUBLIC_URL"), metavar="URL",
                       help="where clients reach this node (default http://HOST:PORT); behind a proxy, its URL")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    report = sub.add_parser("report", help="write a store's analytics (heatmap, funnel, figures) as files")
    report.add_argument("--store", default="boutique", help="store (scene) id (default boutique)")
    report.add_argument("--since", default=None, metavar="YYYY-MM-DD", help="first day (UTC; default: every day)")
    report.add_argument("--out", default="report", help="folder to write into (default report/)")
    report.add_argument("--data-dir", default="var", help="the server's data directory (default var/)")
    report.add_argument("--redis", default=os.environ.get("PLAZA_REDIS_URL"), metavar="URL",
                        help="read from Redis at URL instead of SQLite in the data directory")
    report.add_argument("--redis-prefix", default=os.environ.get("PLAZA_REDIS_PREFIX", "plaza:"), metavar="PREFIX")
    return parser


def _kept_secrets(data_dir: str) -> dict:
    """The signing secret and the operator token, generated once into the data directory (0600) so seat
    tokens and operator scripts keep working across restarts. Environment variables override both."""
    from server.storage.local_state import load_or_create_secret

    secret = os.environ.get("PLAZA_SECRET") or load_or_create_secret(data_dir, "server_secret")[0]
    token = os.environ.get("PLAZA_OPERATOR_TOKEN")
    if not token:
        token, created = load_or_create_secret(data_dir, "operator_token")
        where = Path(data_dir) / "operator_token"
        # Printed once, as Jupyter prints its token; afterwards it is only in the file.
        if created:
            print(f"Operator token (mocap API, load tests; kept in {where}):\n    {token}", file=sys.stderr)
        else:
            print(f"Operator token: in {where}", file=sys.stderr)
    return {"secret": secret.encode(), "operator_token": token}


def _shared_secrets(redis_url: str, prefix: str, kept: dict) -> dict:
    """Every node signs and checks seat tokens with one secret and takes one operator token: the first node to
    start puts its own into Redis, the others take those."""
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        out = {}
        for name, value in (("secret", kept["secret"].decode()), ("operator_token", kept["operator_token"])):
            key = f"{prefix}cluster:shared:{name}"
            client.set(key, value, nx=True)
            out[name] = client.get(key)
    finally:
        client.close()
    return {"secret": out["secret"].encode(), "operator_token": out["operator_token"]}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        import uvicorn

        from server.net.app import create_app
        from server.net.hub import rules_for_scene
        from server.net.serve import uvicorn_config

        try:  # a store owner's typo should read as one sentence, not a startup traceback
            rules_for_scene(args.scene)
        except (ValueError, OSError) as exc:
            print(f"python -m server serve: cannot open scene {args.scene!r}: {exc}", file=sys.stderr)
            return 2
        log_format = "%(asctime)s %(levelname)s %(name)s: %(message)s"
        logging.basicConfig(level=args.log_level.upper(), format=log_format)
        origins = tuple(args.origin) if args.origin else (
            f"http://{args.host}:{args.port}", f"http://localhost:{args.port}", f"http://127.0.0.1:{args.port}"
        )
        if args.node_id and not args.redis:
            print("python -m server serve: --node-id needs --redis URL (the nodes share one Redis)", file=sys.stderr)
            return 2
        kept = _kept_secrets(args.data_dir)
        if args.node_id:
            kept = _shared_secrets(args.redis, args.redis_prefix, kept)
        settings = Settings(host=args.host, port=args.port, scene=args.scene, allowed_origins=origins,
                            data_dir=args.data_dir, persist_state=not args.node_id, redis_url=args.redis,
                            storage_prefix=args.redis_prefix, node_id=args.node_id, public_url=args.public_url,
                            **kept)
        app = create_app(settings)
        uvicorn.Server(uvicorn_config(app, args.host, args.port, args.log_level)).run()
        return 0
    if args.command == "report":
        import asyncio

        from server.analytics.report import write_report

        try:
            written = asyncio.run(write_report(args.store, args.since, Path(args.out), args.data_dir, args.redis,
                                               args.redis_prefix))
        except ValueError as exc:
            print(f"python -m server report: {exc}", file=sys.stderr)
            return 2
        for path in written:
            print(path)
        return 0
    return 2
