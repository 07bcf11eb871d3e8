"""Operator HTTP API for mocap sources (/api/mocap) and the wiring of the UDP listener and playback tick.

`mount(app)` (called by server.net.app) puts a MocapService on app.state.plaza.mocap, adds the routes and
starts, with the app, the UDP listener (PLAZA_MOCAP_UDP_PORT, default 39539, "off" disables;
PLAZA_MOCAP_UDP_HOST, default the server's host) and a 60 Hz playback tick. Rooms come from
app.state.plaza.rooms (the real-time core); without it the seat endpoints answer 503.
Operator auth: when PLAZA_OPERATOR_TOKEN is set, every request needs `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import math
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field

from server.mocap.bvh import BvhError, load_bvh
from server.mocap.ingest import BindOptions, MocapInputError, MocapSources, make_track
from server.mocap.retarget import RetargetError
from server.mocap.udp import DEFAULT_PORT, start_udp_listener

log = logging.getLogger(__name__)
TICK_HZ = 60


def _operator(request: Request) -> None:
    token = os.environ.get("PLAZA_OPERATOR_TOKEN")
    if not token:
        return
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise HTTPException(401, "operator token required (Authorization: Bearer <PLAZA_OPERATOR_TOKEN>)")


router = APIRouter(prefix="/api/mocap", tags=["mocap"], dependencies=[Depends(_operator)])


class MocapService:
    """The ingest plus its adapters (UDP transport, playback tick task) for one app."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.ingest = MocapSources(self._sink)
        self.transport: asyncio.DatagramTransport | None = None
        self.udp_port: int | None = None
        self.tick_task: asyncio.Task | None = None

    def rooms(self) -> Any:
        return getattr(self.app.state.plaza, "rooms", None)

    def _sink(self, room_id: str, avatar_id: int, hips: Any, rots: Any, now: float) -> None:
        rooms = self.rooms()
        room = rooms.get(room_id) if rooms is not None else None
        if room is None:
            raise ValueError(f"room {room_id!r} is gone")
        room.apply_external_pose(avatar_id, now, hips, rots)

    async def start(self) -> None:
        settings = self.app.state.plaza.settings
        port_text = os.environ.get("PLAZA_MOCAP_UDP_PORT", str(DEFAULT_PORT))
        if port_text.lower() != "off" and self.transport is None:
            host = os.environ.get("PLAZA_MOCAP_UDP_HOST", getattr(settings, "host", "127.0.0.1"))
            try:
                self.transport, _ = await start_udp_listener(self.ingest, host, int(port_text))
                self.udp_port = self.transport.get_extra_info("sockname")[1]
                log.info("mocap: listening for VMC on udp %s:%s", host, self.udp_port)
            except (OSError, ValueError) as exc:
                log.warning("mocap: cannot listen on udp %s:%s (%s); VMC input is off", host, port_text, exc)
        if self.tick_task is None:
            self.tick_task = asyncio.create_task(self._tick_loop())

    async def stop(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        if self.tick_task is not None:
            self.tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.tick_task
            self.tick_task = None

    async def _tick_loop(self) -> None:
        # Fixed timestep without drift: the next deadline advances by 1/60 s whatever the sleep overshoot.
        step = 1.0 / TICK_HZ
        deadline = time.monotonic()
        while True:
            deadline += step
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
            now = time.monotonic()
            if now - deadline > 1.0:
                deadline = now  # we were suspended; do not replay a burst of ticks
            try:
                self.ingest.tick(now)
            except Exception:
                log.exception("mocap playback tick failed")


def add_external_avatar(room: Any, name: str, now: float) -> int:
    """The agreed room interface, with a fallback to the room's generic seat call (external=True)."""
    if hasattr(room, "add_external_avatar"):
        return int(room.add_external_avatar(name, now))
    return int(room.add_avatar(name, now, external=True).id)


def remove_external_avatar(room: Any, avatar_id: int, now: float) -> None:
    if hasattr(room, "remove_external_avatar"):
        room.remove_external_avatar(avatar_id, now)
    else:
        room.remove_avatar(avatar_id)


def _service(request: Request) -> MocapService:
    service = getattr(request.app.state.plaza, "mocap", None)
    if service is None:
        raise HTTPException(503, "mocap ingest is not mounted on this server")
    return service


def _rooms(service: MocapService) -> Any:
    rooms = service.rooms()
    if rooms is None:
        raise HTTPException(503, "the real-time room server is not running on this server, so no seat can be bound")
    return rooms


class CreateSource(BaseModel):
    name: str = Field("", max_length=64)
    allow_addr: str | None = Field(None, max_length=64, description="'host' or 'host:port' that may send keyless")


class BindSource(BaseModel):
    room_id: str = Field(..., min_length=1, max_length=128)
    avatar_name: str = Field("performer", min_length=1, max_length=64)
    height_m: float = 1.70
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    yaw_deg: float = 0.0


class StartPlayback(BaseModel):
    file: str = Field(..., min_length=1, max_length=255, description="BVH file name inside the allowed folder")
    loop: bool = True


def bvh_folder(request: Request) -> Path:
    folder = os.environ.get("PLAZA_MOCAP_BVH_DIR")
    if folder:
        return Path(folder)
    return Path(getattr(request.app.state.plaza.settings, "data_dir", "var")) / "mocap"


def _free_seat(service: MocapService, binding: tuple[str, int] | None) -> None:
    if binding is None:
        return
    rooms = service.rooms()
    room = rooms.get(binding[0]) if rooms is not None else None
    if room is not None:
        try:
            remove_external_avatar(room, binding[1], time.monotonic())
        except (KeyError, ValueError) as exc:
            log.info("mocap: seat %s already gone: %s", binding, exc)


def _source_or_404(service: MocapService, source_id: str) -> None:
    if source_id not in service.ingest.sources:
        raise HTTPException(404, f"no mocap source {source_id!r}")


@router.post("/sources", status_code=201)
async def create_source(body: CreateSource, request: Request) -> dict:
    service = _service(request)
    try:
        source_id, key = service.ingest.create(body.name, body.allow_addr)
    except MocapInputError as exc:
        raise HTTPException(400, str(exc)) from None
    return {"source_id": source_id, "key": key, "udp_port": service.udp_port,
            "note": "the key is shown only now; senders put it in a /plaza/key message of each bundle"}


@router.get("/sources")
async def list_sources(request: Request) -> list[dict]:
    return [s.info() for s in _service(request).ingest.sources.values()]


@router.post("/sources/{source_id}/bind")
async def bind_source(source_id: str, body: BindSource, request: Request) -> dict:
    service = _service(request)
    _source_or_404(service, source_id)
    if not all(math.isfinite(v) for v in (body.height_m, body.yaw_deg, *body.origin)):
        raise HTTPException(400, "height_m, origin and yaw_deg must be finite numbers")
    try:
        options = BindOptions(body.height_m, tuple(body.origin), body.yaw_deg)
    except MocapInputError as exc:
        raise HTTPException(400, str(exc)) from None
    room = _rooms(service).get(body.room_id)
    if room is None:
        raise HTTPException(404, f"no room {body.room_id!r}")
    try:
        avatar_id = add_external_avatar(room, body.avatar_name, time.monotonic())
    except Exception as exc:  # RoomFull and friends: the room says why
        raise HTTPException(409, f"room {body.room_id!r} cannot seat a mocap avatar: {exc}") from None
    previous = service.ingest.bind(source_id, body.room_id, avatar_id, options)
    _free_seat(service, previous)
    return {"source_id": source_id, "room_id": body.room_id, "avatar_id": avatar_id}


@router.post("/sources/{source_id}/playback")
async def start_playback(source_id: str, body: StartPlayback, request: Request) -> dict:
    service = _service(request)
    _source_or_404(service, source_id)
    src = service.ingest.sources[source_id]
    if not src.bound:
        raise HTTPException(409, "bind the source to a room seat before starting a playback")
    folder = bvh_folder(request).resolve()
    path = (folder / body.file).resolve()
    if path.parent != folder or path.suffix.lower() != ".bvh":
        raise HTTPException(400, "file must be the name of a .bvh file directly inside the allowed folder")
    if not path.is_file():
        raise HTTPException(404, f"no file {body.file!r} in the mocap folder")
    try:
        track = await asyncio.to_thread(lambda: make_track(load_bvh(path), src.options.height_m, body.loop))
    except (BvhError, RetargetError) as exc:
        raise HTTPException(422, f"{body.file}: {exc}") from None
    try:
        duration = service.ingest.play(source_id, track, time.monotonic())
    except MocapInputError as exc:  # unbound while we were loading
        raise HTTPException(409, str(exc)) from None
    return {"source_id": source_id, "file": body.file, "duration_s": duration, "loop": body.loop}


@router.post("/sources/{source_id}/stop")
async def stop_source(source_id: str, request: Request) -> dict:
    service = _service(request)
    _source_or_404(service, source_id)
    _free_seat(service, service.ingest.stop(source_id))
    return {"source_id": source_id, "stopped": True}


@router.delete("/sources/{source_id}")
async def delete_source(source_id: str, request: Request) -> dict:
    service = _service(request)
    _source_or_404(service, source_id)
    _free_seat(service, service.ingest.delete(source_id))
    return {"source_id": source_id, "deleted": True}


@router.get("/counters")
async def counters(request: Request) -> dict:
    return _service(request).ingest.metrics()


# Exported on /metrics as plaza_mocap_<name> (monotonic counts since start, except the two source gauges).
METRIC_NAMES = (
    "packets", "poses", "dropped_malformed", "dropped_bad_key", "dropped_unknown_sender", "dropped_address_mismatch",
    "dropped_unbound", "dropped_duplicate", "dropped_non_finite_pose", "rejected_by_room", "sink_errors",
    "vmc_stale", "vmc_sender_restart", "vmc_non_finite", "vmc_unknown_bone", "vmc_unused_bone", "vmc_absurd_scale",
    "vmc_out_of_range", "vmc_bad_quaternion", "vmc_bad_arguments", "vmc_too_many_blendshapes", "playbacks_finished",
    "sources", "sources_bound",
)


def _register_metrics(app: FastAPI, service: MocapService) -> None:
    metrics = getattr(app.state.plaza, "metrics", None)
    if metrics is None:
        return
    for name in METRIC_NAMES:
        kind = metrics.gauges if name in ("sources", "sources_bound") else metrics.counter_callbacks
        kind[f"plaza_mocap_{name}"] = lambda name=name: float(service.ingest.metrics().get(name, 0))


def mount(app: FastAPI) -> None:
    service = MocapService(app)
    app.state.plaza.mocap = service
    app.include_router(router)
    _register_metrics(app, service)
    # Run inside the app's own lifespan (custom or default) so the listener lives exactly as long as the app.
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            await service.start()
            try:
                yield state
            finally:
                await service.stop()

    app.router.lifespan_context = lifespan
