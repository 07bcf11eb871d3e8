"""Serving Plaza: uvicorn for HTTP, Plaza's own websocket sessions for `/ws`, on one port.

uvicorn runs the FastAPI app through `GuardedHttpProtocol` (its documented `http=` protocol-class
option); that protocol hands a connection whose first request is a `/ws` upgrade to a `Session` bound to this
app's hub, so websockets never pass through uvicorn's websocket implementation or the ASGI layer.
"""

from __future__ import annotations

import uvicorn

from server.net.connection_guard import GuardedHttpProtocol
from server.net.session import Session


def protocol_for(app) -> type[GuardedHttpProtocol]:
    """The HTTP protocol class for this app: its `/ws` upgrades become sessions of its hub."""
    hub = app.state.plaza.hub

    class PlazaHttpProtocol(GuardedHttpProtocol):
        websocket_session = staticmethod(lambda address: Session(hub, address))

    return PlazaHttpProtocol


def uvicorn_config(app, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    # No access log: shoppers' requests are nobody's log lines. No uvicorn websockets: `/ws` is ours.
    return uvicorn.Config(
        app, host=host, port=port, access_log=False, http=protocol_for(app), ws="none",
        log_level=log_level, lifespan="on", loop="server.net.paced_loop:paced_loop",
    )
