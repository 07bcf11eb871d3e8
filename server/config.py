"""Server settings: one dataclass, filled from the CLI or environment, passed to every adapter."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field


def _random_operator_token() -> str:
    return os.environ.get("PLAZA_OPERATOR_TOKEN", "") or secrets.token_urlsafe(24)


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    scene: str = "boutique"
    # Origins allowed to open the websocket; "*" allows any (development only).
    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:8000", "http://localhost:8000")
    # Key that signs join and resume tokens. `python -m server serve` keeps it in the data directory
    # (server_secret, 0600) so tokens survive a restart; a bare Settings() gets a random one.
    secret: bytes = field(
        default_factory=lambda: os.environ.get("PLAZA_SECRET", "").encode() or secrets.token_bytes(32)
    )
    # Bearer token of the operator APIs (mocap, load tests). Operator APIs deny without it; never empty.
    operator_token: str = field(default_factory=_random_operator_token)
    data_dir: str = "var"
    tick_hz: int = 60
    # Persist store rooms and mocap sources in the data directory (off for throwaway test apps).
    persist_state: bool = False
    # Durable commerce state: Redis at this URL (several processes share it), else SQLite in data_dir.
    redis_url: str | None = None
    storage_prefix: str = "plaza:"
    # Many nodes (docs/SCALING.md): with redis_url and a node id, this process is one node of a cluster that
    # shares one store; `public_url` is where clients reach this node (default http://host:port).
    node_id: str | None = None
    public_url: str | None = None

    @property
    def clustered(self) -> bool:
        return bool(self.redis_url and self.node_id)

    def origin_allowed(self, origin: str | None) -> bool:
        # Non-browser clients (bots, the reference client) send no Origin header; browsers always do.
        if origin is None:
            return True
        return "*" in self.allowed_origins or origin in self.allowed_origins

    def is_operator(self, authorization: str | None) -> bool:
        """`Authorization: Bearer <operator token>`, compared in constant time."""
        expected = f"Bearer {self.operator_token}".encode()
        return bool(self.operator_token) and secrets.compare_digest((authorization or "").encode(), expected)
