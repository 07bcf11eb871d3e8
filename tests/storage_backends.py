"""A storage fixture per backend: SQLite in a temporary folder, and the real Redis (REDIS_URL, default the local
server) under a key prefix of the test's own that is deleted afterwards. Without a reachable Redis the Redis
variant skips with the reason on a developer's machine and fails under CI."""

from __future__ import annotations

import os
import uuid

import pytest

from server.storage import open_storage

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def require_redis() -> None:
    """Skip (developer machine) or fail (CI) when no Redis answers."""
    if not redis_reachable():
        message = f"no Redis at {REDIS_URL} (.ci/run starts one; set REDIS_URL for another)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(params=["sqlite", "redis"])
async def storage(request, tmp_path):
    if request.param == "redis":
        require_redis()
        store = open_storage(tmp_path, REDIS_URL, prefix=f"plaza-test:{uuid.uuid4().hex}:")
    else:
        store = open_storage(tmp_path)
    try:
        yield store
    finally:
        if request.param == "redis":
            await store.drop_everything()
            assert not [k async for k in store.client.scan_iter(match=store.prefix + "*")]
        await store.close()
