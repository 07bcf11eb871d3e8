"""HTTP API of the real-time core: rooms, seat reservations, stats, Prometheus metrics."""

from __future__ import annotations

import os
import time
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from server.net.hub import Hub
from server.realtime.interest import InterestConfig
from server.realtime.registry import MAX_ROOM_SIZE, RoomError

router = APIRouter(tags=["rooms"])


class CreateRoom(BaseModel):
    name: str = Field(min_length=1, max_length=60, description="Shown in room lists")
    scene: str | None = Field(default=None, description="Store scene id; the server's default scene if omitted")
    private: bool = Field(default=False, description="Private rooms are unlisted and need their invite code")
    capacity: int = Field(default=50, ge=1, le=MAX_ROOM_SIZE, description="Maximum avatars in the room")
    interest: Literal["auto", "all", "nearby"] = Field(
        default="auto",
        description="Who each client receives: 'all' = every avatar at 60 Hz; 'nearby' = the nearest 50 at 60 Hz, "
        "a middle ring at 20 Hz, the rest at 5 Hz; 'auto' = 'all' up to 250 avatars, then 'nearby'",
    )


class JoinRoom(BaseModel):
    name: str = Field(min_length=1, max_length=32, pattern=r"^[^\x00-\x1f\x7f]+$",
                      description="Display name shown over the avatar")
    invite_code: str | None = Field(default=None, max_length=64, description="Required for private rooms")


def _hub(request: Request) -> Hub:
    return request.app.state.plaza.hub


def _error(exc: RoomError) -> JSONResponse:
    return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status)


@router.get("/api/rooms", summary="List public rooms")
async def list_rooms(request: Request) -> list[dict]:
    return _hub(request).registry.list_public()


@router.post("/api/rooms", status_code=201, summary="Create a room")
async def create_room(body: CreateRoom, request: Request):
    hub = _hub(request)
    scene = body.scene or hub.settings.scene
    try:
        limit = {"auto": InterestConfig().all_to_all_limit, "all": MAX_ROOM_SIZE, "nearby": 0}[body.interest]
        info = hub.registry.create(body.name, scene, hub.now(), private=body.private, capacity=body.capacity,
                                   interest=InterestConfig(all_to_all_limit=limit))
    except RoomError as exc:
        return _error(exc)
    except (KeyError, FileNotFoundError, ValueError) as exc:
        return JSONResponse({"error": "unknown_scene", "message": f"no usable scene {scene!r}: {exc}"}, 404)
    view = info.public_view()
    if info.private:
        view["invite_code"] = info.invite_code
    return view


@router.get("/api/rooms/{room_id}", summary="One room")
async def get_room(room_id: str, request: Request):
    info = _hub(request).registry.rooms.get(room_id)
    if info is None or info.private:
        return JSONResponse({"error": "room_not_found", "message": "no such public room"}, 404)
    return info.public_view()


@router.post("/api/rooms/{room_id}/join", summary="Reserve a seat and get a websocket token")
async def join_room(room_id: str, body: JoinRoom, request: Request):
    hub = _hub(request)
    if not hub.allow_join(request.client.host if request.client else "?"):
        return JSONResponse({"error": "rate_limited", "message": "too many joins from this address; wait a moment"},
                            status_code=429, headers={"Retry-After": "1"})
    try:
        info, avatar_id, token = hub.registry.reserve(room_id, body.name, hub.now(), time.time(), body.invite_code)
    except RoomError as exc:
        return _error(exc)
    return {
        "room": room_id, "avatar": avatar_id, "token": token, "expires_in": 60,
        "ws_url": f"/ws?room={room_id}&v=1&token={token}", "scene": info.scene,
    }


@router.get("/api/stats", summary="Tick timing and traffic of this process (for load tests)")
async def stats(request: Request) -> dict:
    hub = _hub(request)
    m = hub.metrics
    recent = sorted(m.recent_ticks_ms)

    def pct(p: float) -> float | None:
        return recent[min(len(recent) - 1, int(p / 100 * len(recent)))] if recent else None

    times = os.times()
    return {
        "ticks": hub.ticks, "late_ticks": hub.late_ticks, "skipped_ticks": hub.skipped_ticks,
        "tick_work_ms": {"p50": pct(50), "p99": pct(99), "max": recent[-1] if recent else None,
                         "window": len(recent)},
        "cpu_s": times.user + times.system,
        "frames_out": m.get("plaza_frames_out_total"), "bytes_out": m.get("plaza_bytes_out_total"),
        "frames_in": m.get("plaza_frames_in_total"), "bytes_in": m.get("plaza_bytes_in_total"),
        "frames_replaced": m.get("plaza_frames_replaced_total"),
        "clients": len(hub.connections),
    }


@router.post("/api/stats/reset", summary="Start a new measurement window for /api/stats percentiles")
async def reset_stats(request: Request) -> dict:
    hub = _hub(request)
    hub.metrics.recent_ticks_ms.clear()
    hub.late_ticks = hub.skipped_ticks = 0
    return {"ok": True}


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
async def metrics(request: Request) -> str:
    return _hub(request).metrics.render()
