"""Operator HTTP API for mocap sources (/api/mocap) and the wiring of the UDP listener and playback tick.

`mount(app)` (called by server.net.app) puts a MocapService on app.state.plaza.mocap, adds the routes and
starts, with the app, the UDP listener (PLAZA_MOCAP_UDP_PORT, default 39539, "off" disables;
PLAZA_MOCAP_UDP_HOST, default the server's host) and a 60 Hz playback tick. Rooms come from
app.state.plaza.rooms (the real-time core); without it the seat endpoints answer 503.
Operator auth: every request needs `Authorization: Bearer <operator token>` (Settings.operator_token: printed
at startup and kept in the data directory as `operator_token`; PLAZA_OPERATOR_TOKEN overrides). Without it,
401 with `WWW-Authenticate: Bearer`: the API denies by default.

Sources and bindings are kept in `mocap_sources.json` in the data directory when settings.persist_state is on
(keys only as hashes), and recreated at startup. Seats given up by idle sources are taken again on new data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
import unicodedata
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi import Path as PathParam
from pydantic import AfterValidator, BaseModel, Field, Strict, StrictBool
from pydantic_core import PydanticCustomError

from server.clock import INPUTS
from server.mocap.bvh import BvhError, load_bvh
from server.mocap.ingest import BindOptions, MocapInputError, MocapSources, TooManySources, make_track
from server.mocap.retarget import RetargetError
from server.mocap.udp import DEFAULT_PORT, start_udp_listener
from server.names import InvalidName, check_display_name
from server.net.problems import Problem, responses
from server.storage.local_state import JsonState

log = logging.getLogger(__name__)
STATE_FILE = "mocap_sources.json"  # in the data directory, when settings.persist_state is on


def _operator(request: Request) -> None:
    if not request.app.state.plaza.settings.is_operator(request.headers.get("authorization")):
        raise Problem(401, "unauthorized", "The mocap API is for the store's operator: send "
                      "'Authorization: Bearer <operator token>' (printed at startup, in the data directory as "
                      "operator_token).", headers={"WWW-Authenticate": "Bearer"})


router = APIRouter(prefix="/api/mocap", tags=["mocap"], dependencies=[Depends(_operator)],
                   responses=responses(401, 503))
Number = Annotated[float, Strict()]  # a JSON number as documented; "1.7" is refused, not coerced
SourceId = Annotated[str, PathParam(max_length=64, description="The id answered when the source was created")]


class MocapService:
    """The ingest plus its adapters (UDP transport, playback tick task) for one app."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.ingest = MocapSources(self._sink, RoomSeats(self))
        self.transport: asyncio.DatagramTransport | None = None
        self.udp_port: int | None = None
        self.stop_playback: Callable[[], None] | None = None
        settings = app.state.plaza.settings
        self.state = JsonState(settings.data_dir if getattr(settings, "persist_state", False) else None, STATE_FILE)

    def rooms(self) -> Any:
        return getattr(self.app.state.plaza, "rooms", None)

    def save(self) -> None:
        """Keep what was answered 201/200 (sources, key hashes, bindings) across a restart."""
        try:
            self.state.save(self.ingest.snapshot())
        except OSError as exc:
            log.error("mocap: cannot save %s: %s", STATE_FILE, exc)

    def restore(self) -> None:
        try:
            entries = self.state.load([])
        except (OSError, ValueError) as exc:
            log.error("mocap: %s is unreadable (%s); starting without stored sources", STATE_FILE, exc)
            return
        rooms = self.rooms()
        exists = (lambda room_id: rooms.get(room_id) is not None) if rooms is not None else (lambda _r: False)
        if isinstance(entries, list) and entries:
            n = self.ingest.restore(entries, exists, time.monotonic())
            log.info("mocap: restored %d source(s) from %s", n, STATE_FILE)

    def _sink(self, room_id: str, avatar_id: int, hips: Any, rots: Any, now: float) -> None:
        rooms = self.rooms()
        room = rooms.get(room_id) if rooms is not None else None
        if room is None:
            raise ValueError(f"room {room_id!r} is gone")
        room.apply_external_pose(avatar_id, now, hips, rots)

    async def start(self) -> None:
        settings = self.app.state.plaza.settings
        if not self.ingest.sources:
            self.restore()  # at startup, once the rooms (store rooms too) exist
        port_text = os.environ.get("PLAZA_MOCAP_UDP_PORT", str(DEFAULT_PORT))
        if port_text.lower() != "off" and self.transport is None:
            host = os.environ.get("PLAZA_MOCAP_UDP_HOST", getattr(settings, "host", "127.0.0.1"))
            try:
                self.transport, _ = await start_udp_listener(self.ingest, host, int(port_text))
                self.udp_port = self.transport.get_extra_info("sockname")[1]
                log.info("mocap: listening for VMC on udp %s:%s", host, self.udp_port)
            except (OSError, ValueError) as exc:
                log.warning("mocap: cannot listen on udp %s:%s (%s); VMC input is off", host, port_text, exc)
        if self.stop_playback is None:  # playback feeds the rooms: it steps before them on the one clock
            self.stop_playback = self.app.state.plaza.clock.every("mocap playback", self.ingest.tick, order=INPUTS)

    async def stop(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        if self.stop_playback is not None:
            self.stop_playback()
            self.stop_playback = None


class RoomSeats:
    """The ingest's SeatKeeper: mocap seats in the real-time rooms; a departure is announced like any other."""

    def __init__(self, service: MocapService) -> None:
        self.service = service

    def _room(self, room_id: str) -> Any:
        rooms = self.service.rooms()
        room = rooms.get(room_id) if rooms is not None else None
        if room is None:
            raise KeyError(f"room {room_id!r} is gone")
        return room

    def take(self, room_id: str, name: str, now: float) -> int:
        return add_external_avatar(self._room(room_id), name, now)

    def release(self, room_id: str, avatar_id: int, now: float) -> None:
        _free_seat(self.service, (room_id, avatar_id))


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
        raise Problem(503, "unavailable", "mocap ingest is not mounted on this server")
    return service


def _rooms(service: MocapService) -> Any:
    rooms = service.rooms()
    if rooms is None:
        raise Problem(503, "unavailable",
                      "the real-time room server is not running on this server, so no seat can be bound")
    return rooms


def _display_name(value: str) -> str:
    try:
        return check_display_name(value)
    except InvalidName as exc:  # a 422 with the rule in words, like any other field problem
        raise PydanticCustomError("invalid_name", str(exc)) from None


def _label(value: str) -> str:
    return _display_name(value) if value else value


class CreateSource(BaseModel):
    name: Annotated[str, AfterValidator(_label)] = Field(
        "", max_length=64, description="A label for the operator (display-name rules); default: the source id")
    allow_addr: str | None = Field(None, max_length=64, pattern=r"^[0-9A-Za-z.:\[\]-]+$",
                                   description="'host' or 'host:port' that may send keyless")


class BindSource(BaseModel):
    room_id: str = Field(..., min_length=1, max_length=128)
    avatar_name: Annotated[str, AfterValidator(_display_name)] = Field(
        "performer", min_length=1, max_length=128, description="The performer's name over the avatar "
        "(display-name rules: no control, invisible or bidi characters, at most max_name_chars)")
    height_m: Number = 1.70
    origin: tuple[Number, Number, Number] = (0.0, 0.0, 0.0)
    yaw_deg: Number = 0.0


class StartPlayback(BaseModel):
    file: str = Field(..., min_length=1, max_length=255, description="BVH file name inside the allowed folder")
    loop: StrictBool = True


def _checked_file_name(name: str) -> str:
    """A plain file name: no control characters (a NUL made the path call raise), no separators."""
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name) or "/" in name or "\\" in name:
        raise Problem(400, "bad_file_name",
                      "file must be the name of a .bvh file directly inside the allowed folder, without control "
                      "characters or path separators")
    return name


def bvh_folder(request: Request) -> Path:
    folder = os.environ.get("PLAZA_MOCAP_BVH_DIR")
    if folder:
        return Path(folder)
    return Path(getattr(request.app.state.plaza.settings, "data_dir", "var")) / "mocap"


def _free_seat(service: MocapService, binding: tuple[str, int] | None) -> None:
    """Give a seat back; others in the room get `left` as for any departure (if they ever saw it)."""
    if binding is None:
        return
    rooms = service.rooms()
    room = rooms.get(binding[0]) if rooms is not None else None
    if room is not None:
        avatar = getattr(room, "avatars", {}).get(binding[1])
        try:
            remove_external_avatar(room, binding[1], time.monotonic())
        except (KeyError, ValueError) as exc:
            log.info("mocap: seat %s already gone: %s", binding, exc)
            return
        hub = getattr(service.app.state.plaza, "hub", None)
        if hub is not None and getattr(avatar, "visible", False):
            hub.broadcast(binding[0], {"t": "left", "avatar": binding[1]})


def _source_or_404(service: MocapService, source_id: str) -> None:
    if source_id not in service.ingest.sources:
        raise Problem(404, "source_not_found", f"no mocap source {source_id[:64]!r}")


@router.post("/sources", status_code=201, responses=responses(409))
async def create_source(body: CreateSource, request: Request) -> dict:
    service = _service(request)
    try:
        source_id, key = service.ingest.create(body.name, body.allow_addr)
    except TooManySources as exc:
        raise Problem(409, "too_many_sources", str(exc)) from None
    except MocapInputError as exc:
        raise Problem(400, "bad_request", str(exc)) from None
    service.save()
    return {"source_id": source_id, "key": key, "udp_port": service.udp_port,
            "note": "the key is shown only now; senders put it in a /plaza/key message of each bundle"}


@router.get("/sources")
async def list_sources(request: Request) -> list[dict]:
    return [s.info() for s in _service(request).ingest.sources.values()]


@router.post("/sources/{source_id}/bind", responses=responses(409))
async def bind_source(source_id: SourceId, body: BindSource, request: Request) -> dict:
    service = _service(request)
    _source_or_404(service, source_id)
    if not all(math.isfinite(v) for v in (body.height_m, body.yaw_deg, *body.origin)):
        raise Problem(400, "bad_placement", "height_m, origin and yaw_deg must be finite numbers")
    try:
        options = BindOptions(body.height_m, tuple(body.origin), body.yaw_deg)
    except MocapInputError as exc:
        raise Problem(400, "bad_placement", str(exc)) from None
    room = _rooms(service).get(body.room_id)
    if room is None:
        raise Problem(404, "room_not_found", f"no room {body.room_id!r}")
    now = time.monotonic()
    try:
        avatar_id = add_external_avatar(room, body.avatar_name, now)
    except Exception as exc:  # RoomFull and friends: the room says why
        raise Problem(409, "room_full", f"room {body.room_id!r} cannot seat a mocap avatar: {exc}") from None
    previous = service.ingest.bind(source_id, body.room_id, avatar_id, options, avatar_name=body.avatar_name,
                                   now=now)
    _free_seat(service, previous)
    service.save()
    return {"source_id": source_id, "room_id": body.room_id, "avatar_id": avatar_id}


@router.post("/sources/{source_id}/playback", responses=responses(409))
async def start_playback(source_id: SourceId, body: StartPlayback, request: Request) -> dict:
    service = _service(request)
    _source_or_404(service, source_id)
    src = service.ingest.sources[source_id]
    if not src.bound:
        raise Problem(409, "not_bound", "bind the source to a room seat before starting a playback")
    name = _checked_file_name(body.file)
    folder = bvh_folder(request).resolve()
    try:
        path = (folder / name).resolve()
        found = path.parent == folder and path.suffix.lower() == ".bvh" and path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, and the like
        raise Problem(400, "bad_file_name", "the file name is not one the file system can have") from None
    if path.parent != folder or path.suffix.lower() != ".bvh":
        raise Problem(400, "bad_file_name", "file must be the name of a .bvh file directly inside the allowed folder")
    if not found:
        raise Problem(404, "file_not_found", f"no file {name!r} in the mocap folder")
    try:
        track = await asyncio.to_thread(lambda: make_track(load_bvh(path), src.options.height_m, body.loop))
    except (BvhError, RetargetError) as exc:
        raise Problem(422, "bad_clip", f"{name}: {exc}") from None
    try:
        duration = service.ingest.play(source_id, track, time.monotonic())
    except MocapInputError as exc:  # unbound while we were loading
        raise Problem(409, "not_bound", str(exc)) from None
    return {"source_id": source_id, "file": name, "duration_s": duration, "loop": body.loop}


@router.post("/sources/{source_id}/stop")
async def stop_source(source_id: SourceId, request: Request) -> dict:
    service = _service(request)
    _source_or_404(service, source_id)
    _free_seat(service, service.ingest.stop(source_id))
    service.save()
    return {"source_id": source_id, "stopped": True}


@router.delete("/sources/{source_id}")
async def delete_source(source_id: SourceId, request: Request) -> dict:
    service = _service(request)
    _source_or_404(service, source_id)
    _free_seat(service, service.ingest.delete(source_id))
    service.save()
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
    "datagrams_over_message_cap", "messages_over_cap", "dropped_over_rate", "dropped_no_seat", "seats_taken",
    "seats_released_idle", "sources", "sources_bound", "sources_seated",
)
GAUGES = ("sources", "sources_bound", "sources_seated")


def _register_metrics(app: FastAPI, service: MocapService) -> None:
    metrics = getattr(app.state.plaza, "metrics", None)
    if metrics is None:
        return
    for name in METRIC_NAMES:
        kind = metrics.gauges if name in GAUGES else metrics.counter_callbacks
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
