"""Cross-node messages on one Redis stream (`<prefix>bus`): what crosses rooms and nodes (stock and team
changes for every connection, shopping-group events, voice signalling, advisor calls).

A stream rather than pub/sub: a node that stalls for a moment (a long tick, a slow network) reads what it
missed when it comes back instead of losing it. Every message has an id; a node skips its own messages and
any id it has already handled, so a redelivery never shows twice. The stream is trimmed to about
`MAX_LEN` entries: it carries live events, not history (the truth is in storage).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

log = logging.getLogger(__name__)
MAX_LEN = 10_000
SEEN = 4096  # message ids remembered for deduplication


class Bus:
    def __init__(self, client: aioredis.Redis, prefix: str, node_id: str) -> None:
        self.client, self.key, self.node_id = client, prefix + "bus", node_id
        self.handlers: dict[str, Callable[[dict[str, Any]], None]] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=10_000)
        self._tasks: list[asyncio.Task] = []
        self.sent = self.received = self.dropped = 0

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        """Queue a message for the other nodes (never waits: callers are the tick and message handlers)."""
        try:
            self._outbox.put_nowait({"id": secrets.token_hex(8), "from": self.node_id, "kind": kind, **payload})
        except asyncio.QueueFull:
            self.dropped += 1

    async def start(self) -> None:
        last = (await self.client.xinfo_stream(self.key))["last-generated-id"] if await self.client.exists(
            self.key) else "0-0"
        self._tasks = [asyncio.get_running_loop().create_task(self._send()),
                       asyncio.get_running_loop().create_task(self._read(last))]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    async def _send(self) -> None:
        while True:
            message = await self._outbox.get()
            raw, delay = json.dumps(message), 0.1
            while True:  # Redis away (restart, partition): the message waits, the rest queue behind it
                try:
                    await self.client.xadd(self.key, {"m": raw}, maxlen=MAX_LEN, approximate=True)
                    self.sent += 1
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # A timeout may hide a write that landed: sending again can deliver twice, which the
                    # receivers' id check absorbs (at least once, never twice in effect).
                    log.warning("could not publish a cross-node message (%s); retrying", type(exc).__name__)
                    await asyncio.sleep(delay)
                    delay = min(2.0, delay * 2)

    async def _read(self, last: str) -> None:
        while True:
            try:
                batches = await self.client.xread({self.key: last}, block=1000, count=500)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cross-node stream read failed; retrying")
                await asyncio.sleep(0.5)
                continue
            for _stream, entries in batches or ():
                for entry_id, fields in entries:
                    last = entry_id
                    self._handle(fields.get("m"))

    def _handle(self, raw: str | None) -> None:
        try:
            message = json.loads(raw or "{}")
        except ValueError:
            return
        if message.get("from") == self.node_id or message.get("id") in self._seen:
            return
        self._seen[message.get("id", "")] = None
        while len(self._seen) > SEEN:
            self._seen.popitem(last=False)
        handler = self.handlers.get(message.get("kind", ""))
        if handler is None:
            return
        self.received += 1
        try:
            handler(message)
        except Exception:
            log.exception("cross-node handler %s failed", message.get("kind"))
