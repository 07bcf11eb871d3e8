"""A shopper with a key, a seat and a log of every control message they received (co-shopping tests, sim failover)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from typing import Any

from sim.client import PlazaClient, http_json

_keys = itertools.count()


class Shopper:
    def __init__(self, url: str, name: str) -> None:
        self.url, self.name = url, name
        self.key = ""
        self.id = ""
        self.client: PlazaClient | None = None
        self.log: list[dict[str, Any]] = []

    @classmethod
    async def make(cls, url: str, name: str, key: str | None = None) -> Shopper:
        shopper = cls(url, name)
        if key is None:
            status, made = await shopper.http("POST", "/api/shoppers", {"name": name}, auth=False)
            assert status == 201, made
            key = made["shopper_key"]
        shopper.key, shopper.id = key, key.partition(".")[0]
        return shopper

    async def http(self, method: str, path: str, body: dict | None = None, auth: bool = True,
                   idempotent: bool = True, operator: str | None = None) -> tuple[int, Any]:
        headers = {}
        if auth:
            headers["X-Shopper-Key"] = self.key
        if idempotent and method != "GET":
            headers["Idempotency-Key"] = f"test-{next(_keys)}"
        return await asyncio.to_thread(http_json, method, f"{self.url}{path}", body, operator_token=operator,
                                       headers=headers)

    async def enter(self, room: str = "main") -> PlazaClient:
        self.client = await PlazaClient.join(self.url, room=room, name=self.name, shopper_key=self.key)
        return self.client

    @property
    def avatar(self) -> int:
        return self.client.session.avatar_id

    async def until(self, match: Callable[[dict[str, Any]], bool], timeout: float = 10.0,
                    since: int = 0) -> dict[str, Any]:
        """The first control message (already received from index `since` of the log, or arriving) that matches."""
        async def wait() -> dict[str, Any]:
            seen = since
            while True:
                for message in self.log[seen:]:
                    if match(message):
                        return message
                seen = len(self.log)
                kind, value = await self.client.next_event()
                if kind == "control":
                    self.log.append(value)
                elif kind == "closed":
                    raise ConnectionError(f"closed: {value}")
        return await asyncio.wait_for(wait(), timeout)

    async def drain(self, seconds: float = 0.2) -> None:
        """Read what arrives for a moment (to check that something did not)."""
        with contextlib.suppress(TimeoutError):
            await self.until(lambda m: False, timeout=seconds)

    async def ask(self, message: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send a control message; its `ok` or `error` reply."""
        request_id = self.client.send_control(message)
        return await self.until(lambda m: m.get("id") == request_id and m["t"] in ("ok", "error"), timeout)

    def got(self, kind: str, **fields: Any) -> list[dict[str, Any]]:
        return [m for m in self.log if m["t"] == kind and all(m.get(k) == v for k, v in fields.items())]

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
