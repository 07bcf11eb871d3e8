"""Shared fixtures: a real Plaza server on a free loopback port, in the test's event loop."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest
import uvicorn

from server.config import Settings
from server.net.app import create_app
from server.net.serve import uvicorn_config

# PLAZA_TEST_STORAGE=redis runs every test's server on the Redis backend (REDIS_URL, a key prefix of the
# test's own, deleted afterwards) instead of SQLite: `make test-redis`, and CI runs both.
STORAGE = os.environ.get("PLAZA_TEST_STORAGE", "sqlite")


@pytest.fixture(autouse=True)
def storage_backend(monkeypatch):
    if STORAGE != "redis":
        yield "sqlite"
        return
    import uuid

    import redis

    from tests.storage_backends import REDIS_URL, require_redis

    require_redis()
    prefix = f"plaza-test:{uuid.uuid4().hex}:"
    original = Settings.__init__

    def init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        if self.redis_url is None:
            self.redis_url, self.storage_prefix = REDIS_URL, prefix
    monkeypatch.setattr(Settings, "__init__", init)
    yield "redis"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=prefix + "*", count=500):
            client.delete(key)
    finally:
        client.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(available, reason): see tests/support.py needs()")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs"):
        if not mark.kwargs["available"]:
            if os.environ.get("CI"):
                pytest.fail(f"cannot run under CI: {mark.kwargs['reason']}", pytrace=False)
            pytest.skip(mark.kwargs["reason"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.url = f"http://127.0.0.1:{settings.port}"
        self.server = uvicorn.Server(uvicorn_config(self.app, "127.0.0.1", settings.port, log_level="warning"))
        self.task: asyncio.Task | None = None

    @property
    def hub(self):
        return self.app.state.plaza.hub

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)


@pytest.fixture
async def live_server(tmp_path):
    port = free_port()
    settings = Settings(port=port, data_dir=str(tmp_path), allowed_origins=(f"http://127.0.0.1:{port}",))
    server = LiveServer(settings)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
