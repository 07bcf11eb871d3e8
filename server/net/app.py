"""The FastAPI application: HTTP API, websocket endpoint, static client. A thin adapter over the core."""

from __future__ import annotations

import gc
import importlib
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from server.clock import Clock
from server.config import Settings
from server.metrics import Metrics
from server.net import http_guard, problems, rooms_api
from server.net.hub import Hub

log = logging.getLogger(__name__)

# Feature modules: each has `mount(app)` (free to add routes, static mounts, startup hooks) or an
# `APIRouter` named `router`. They reach shared services through `app.state.plaza` (see Services).
FEATURE_MODULES: tuple[str, ...] = (
    "server.commerce.catalog_api",
    "server.commerce.shop_api",
    "server.commerce.owner_api",  # after the shop: the console's stock, orders and staff
    "server.social.api",  # after the shop: groups share its storage and bags
    "server.promotions.api",  # after the shop: team buys, coupons, hunts and referrals use it
    "server.cluster.api",  # after the services whose events it relays to the other nodes
    "server.analytics.api",  # after the shop: bag and order events feed the store's funnel
    "server.assistant.api",
    "server.sizing.api",
    "server.mocap.api",
    "server.net.client_static",
)


class Services:
    """Process-wide objects shared by the adapters (set on app.state.plaza)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.clock = Clock(settings.tick_hz)  # the one clock: rooms, mocap playback, gestures, deadlines
        self.hub = Hub(settings, self.metrics, self.clock)
        self.rooms = self.hub.registry  # room registry (mocap binding and other features use it)


def _include_feature_modules(app: FastAPI) -> None:
    for module_name in FEATURE_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # feature not built yet; anything else missing is a real error
                continue
            raise
        if hasattr(module, "mount"):
            module.mount(app)
        else:
            app.include_router(module.router)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    services = Services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        services.hub.ensure_default_room()
        services.hub.start()
        # Everything loaded so far (modules, catalog, scenes) lives as long as the process: keep it out of the
        # cyclic collector's scans, whose pauses would otherwise land in the middle of ticks.
        gc.freeze()
        try:
            yield
        finally:
            await services.hub.stop()

    app = FastAPI(title="Plaza", version="0.1.0", description="Real-time 3D store server.", lifespan=lifespan)
    app.state.plaza = services
    # One error shape (RFC 9457) for every route, documented in /openapi.json; the guard sits outermost.
    problems.install(app)
    http_guard.install(app)
    # `/ws` is not an ASGI route: server/net/serve.py hands websocket upgrades to server/net/session.py.
    app.include_router(rooms_api.router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    _include_feature_modules(app)
    return app
