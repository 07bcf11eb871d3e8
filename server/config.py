"""Server settings: one dataclass, filled from the CLI or environment, passed to every adapter."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    scene: str = "boutique"
    # Origins allowed to open the websocket; "*" allows any (development only).
    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:8000", "http://localhost:8000")
    # Key that signs join and resume tokens; random per process unless set (tokens then die with it).
    secret: bytes = field(
        default_factory=lambda: os.environ.get("PLAZA_SECRET", "").encode() or secrets.token_bytes(32)
    )
    data_dir: str = "var"
    tick_hz: int = 60

    def origin_allowed(self, origin: str | None) -> bool:
        # Non-browser clients (bots, the reference client) send no Origin header; browsers always do.
        if origin is None:
            return True
        return "*" in self.allowed_origins or origin in self.allowed_origins
