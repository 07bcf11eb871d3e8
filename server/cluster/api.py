"""Many nodes (docs/SCALING.md): with `--redis URL --node-id ID` this process joins a cluster. `mount(app)`
starts the node once everything else is up (its relays reach the hub, the shop and the shopping groups) and
adds `GET /api/cluster` (which nodes are alive, their load, which rooms this node owns)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from server.cluster.node import Node

router = APIRouter(tags=["ops"])


@router.get("/api/cluster", summary="The cluster: live nodes, their load, the rooms this node owns")
async def cluster(request: Request) -> JSONResponse:
    node: Node | None = getattr(request.app.state.plaza, "node", None)
    if node is None:
        return JSONResponse({"clustered": False})
    nodes = await node.directory.live_nodes()
    return JSONResponse({"clustered": True, **node.status(),
                         "nodes": [{"id": n.id, "url": n.url, "clients": n.clients, "rooms": n.rooms} for n in nodes]})


def mount(app: FastAPI) -> None:
    app.include_router(router)
    services = app.state.plaza
    services.node = None
    if not services.settings.clustered:
        return
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            node = Node(services)
            await node.start()
            if services.hub.social is not None:
                services.hub.social.relay = node.relay_group
            services.node = node
            try:
                yield state
            finally:
                services.node = None
                await node.stop()

    app.router.lifespan_context = lifespan
