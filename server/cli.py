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
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
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
        settings = Settings(host=args.host, port=args.port, scene=args.scene, allowed_origins=origins,
                            data_dir=args.data_dir, persist_state=True, redis_url=args.redis,
                            storage_prefix=args.redis_prefix,
                            **_kept_secrets(args.data_dir))
        app = create_app(settings)
        uvicorn.Server(uvicorn_config(app, args.host, args.port, args.log_level)).run()
        return 0
    return 2
