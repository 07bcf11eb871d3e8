"""Redis storage (the `redis` package's asyncio client): every multi-key change is one Lua script, so it is
atomic across all server processes sharing the Redis; nothing is held only in a process.

Keys, under the prefix: `stock` (hash sku -> available), `res:<id>` (hash lines/expires_at/state),
`res:held` (sorted set id by deadline), `doc:<kind>:<key>` (hash v/value/seq), `own:<kind>:<owner>` (sorted
set key by write order), `seq` (counter).
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis

from server import limits
from server.storage.base import Doc, OutOfStock, Reservation, Storage, VersionConflict, check_lines

_RESERVE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return {'exists'} end
local lines = cjson.decode(ARGV[1])
for sku, qty in pairs(lines) do
  local have = tonumber(redis.call('HGET', KEYS[1], sku) or '-1')
  if have < qty then return {'short', sku, tostring(have)} end
end
for sku, qty in pairs(lines) do redis.call('HINCRBY', KEYS[1], sku, -qty) end
redis.call('HSET', KEYS[2], 'lines', ARGV[1], 'expires_at', ARGV[2], 'state', 'held')
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
return {'ok'}
"""

_SETTLE = """
if redis.call('HGET', KEYS[2], 'state') ~= 'held' then return 0 end
if ARGV[1] == 'released' then
  local lines = cjson.decode(redis.call('HGET', KEYS[2], 'lines'))
  for sku, qty in pairs(lines) do redis.call('HINCRBY', KEYS[1], sku, qty) end
end
redis.call('HSET', KEYS[2], 'state', ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
"""

_PUT = """
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if cur ~= tonumber(ARGV[1]) then return -1 end
local v = cur + 1
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'v', v, 'value', ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) else redis.call('PERSIST', KEYS[1]) end
if ARGV[4] == '1' then redis.call('ZADD', KEYS[2], 'NX', seq, ARGV[5]) end
return v
"""

_EXTEND = """
if redis.call('HGET', KEYS[1], 'state') ~= 'held' then return 0 end
redis.call('HSET', KEYS[1], 'expires_at', ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
return 1
"""

_SET_STOCK = """
if tonumber(ARGV[2]) < 0 then return redis.error_reply('negative') end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class RedisStorage(Storage):
    backend = "redis"

    def __init__(self, url: str, prefix: str = "plaza:") -> None:
        self.prefix = prefix
        # A blocking pool: a burst of requests (a sale opening) waits for a connection instead of failing.
        # Socket timeouts: a Redis cut off by the network never answers nor resets, and a request would hang with
        # its shopper; with them it fails after storage_timeout_s and the shopper gets a 503 to retry.
        wait = limits.get("storage_timeout_s")
        pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=32, timeout=20, decode_responses=True,
                                                        socket_timeout=wait, socket_connect_timeout=wait)
        self.client = aioredis.Redis(connection_pool=pool)
        self._reserve = self.client.register_script(_RESERVE)
        self._settle_script = self.client.register_script(_SETTLE)
        self._put = self.client.register_script(_PUT)
        self._set_stock = self.client.register_script(_SET_STOCK)
        self._extend = self.client.register_script(_EXTEND)

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def close(self) -> None:
        await self.client.aclose(close_connection_pool=True)

    async def drop_everything(self) -> None:
        """Delete every key under the prefix (tests clean up after themselves)."""
        async for key in self.client.scan_iter(match=self.prefix + "*", count=500):
            await self.client.delete(key)

    # ------------------------------------------------------------------ stock
    async def seed_stock(self, levels: dict[str, int]) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            for sku, n in levels.items():
                pipe.hsetnx(self._k("stock"), sku, int(n))
            await pipe.execute()

    async def set_stock(self, sku: str, available: int) -> None:
        if available < 0:
            raise ValueError("stock cannot be negative")
        await self._set_stock(keys=[self._k("stock")], args=[sku, available])

    async def stock(self, skus: list[str]) -> dict[str, int]:
        if not skus:
            return {}
        values = await self.client.hmget(self._k("stock"), skus)
        return {sku: int(v) if v is not None else -1 for sku, v in zip(skus, values, strict=True)}

    async def reserve(self, reservation_id: str, lines: dict[str, int], expires_at: float) -> Reservation:
        check_lines(lines)
        text = json.dumps(lines, sort_keys=True)
        result = await self._reserve(keys=[self._k("stock"), self._k("res", reservation_id), self._k("res", "held")],
                                     args=[text, repr(float(expires_at)), reservation_id])
        if result[0] == "short":
            raise OutOfStock(result[1], int(result[2]))
        if result[0] == "exists":
            found = await self.reservation(reservation_id)
            assert found is not None
            return found
        return Reservation(reservation_id, dict(lines), float(expires_at), "held")

    async def _settle(self, reservation_id: str, to_state: str) -> bool:
        done = await self._settle_script(
            keys=[self._k("stock"), self._k("res", reservation_id), self._k("res", "held")],
            args=[to_state, reservation_id])
        return bool(done)

    async def release(self, reservation_id: str) -> bool:
        return await self._settle(reservation_id, "released")

    async def commit(self, reservation_id: str) -> bool:
        return await self._settle(reservation_id, "committed")

    async def extend(self, reservation_id: str, expires_at: float) -> bool:
        return bool(await self._extend(keys=[self._k("res", reservation_id), self._k("res", "held")],
                                       args=[repr(float(expires_at)), reservation_id]))

    async def restock(self, sku: str, quantity: int) -> int:
        if type(quantity) is not int or quantity <= 0:
            raise ValueError("restock a positive number of units")
        return int(await self.client.hincrby(self._k("stock"), sku, quantity))

    async def reservation(self, reservation_id: str) -> Reservation | None:
        row = await self.client.hgetall(self._k("res", reservation_id))
        if not row:
            return None
        return Reservation(reservation_id, json.loads(row["lines"]), float(row["expires_at"]), row["state"])

    async def expired_reservations(self, now: float, limit: int = 100) -> list[str]:
        return list(await self.client.zrangebyscore(self._k("res", "held"), "-inf", now, start=0, num=limit))

    # ------------------------------------------------------------------ documents
    async def get(self, kind: str, key: str) -> Doc | None:
        row = await self.client.hmget(self._k("doc", kind, key), ["v", "value"])
        if row[0] is None:
            return None
        return Doc(int(row[0]), json.loads(row[1]))

    async def put(self, kind: str, key: str, value: dict[str, Any], expected_version: int,
                  owner: str | None = None, ttl_s: float | None = None) -> int:
        text = json.dumps(value, sort_keys=True, allow_nan=False)
        version = await self._put(
            keys=[self._k("doc", kind, key), self._k("own", kind, owner or "-"), self._k("seq")],
            args=[expected_version, text, int(ttl_s * 1000) if ttl_s else 0, "1" if owner else "0", key])
        if version < 0:
            raise VersionConflict(f"{kind}/{key} changed since version {expected_version}")
        return int(version)

    async def delete(self, kind: str, key: str) -> bool:
        return bool(await self.client.delete(self._k("doc", kind, key)))

    async def owned(self, kind: str, owner: str) -> list[str]:
        keys = await self.client.zrange(self._k("own", kind, owner), 0, -1)
        if not keys:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.exists(self._k("doc", kind, key))
            alive = await pipe.execute()
        return [k for k, present in zip(keys, alive, strict=True) if present]
