"""HTTP API of the real-time core: rooms, seat reservations, stores' own rooms, stats, Prometheus metrics.

Errors are RFC 9457 problem details (server/net/problems.py). Per-address limits (server/limits.py) do
not apply to a request that presents the operator token (`Authorization: Bearer ...`), such as a load test.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from server import limits
from server.names import DisplayName, RoomName
from server.net.hub import Hub
from server.net.problems import Problem, responses
from server.net.session import PROTOCOL_VERSION
from server.realtime.interest import InterestConfig
from server.realtime.registry import MAX_ROOM_SIZE, RoomError

router = APIRouter(tags=["rooms"])



class CreateRoom(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # room ids are the server's: an `id` field is refused

    name: RoomName = Field(min_length=1, max_length=60, description="Shown in room lists")
    scene: str | None = Field(default=None, max_length=64,
                              description="Store scene id; the server's default scene if omitted")
    private: bool = Field(default=False, description="Private rooms are unlisted and need their invite code")
    capacity: int = Field(default=50, ge=1, le=MAX_ROOM_SIZE, description="Maximum avatars in the room")
    interest: Literal["auto", "all", "nearby"] = Field(
        default="auto",
        description="Who each client receives: 'all' = every avatar at 60 Hz; 'nearby' = the nearest 50 at 60 Hz, "
        "a middle ring at 20 Hz, the rest at 5 Hz; 'auto' = 'all' up to 250 avatars, then 'nearby'",
    )



class JoinRoom(BaseModel):
    model_config = ConfigDict(strict=True)  # no coercion: "true" is not a bool, "5" not a number

    name: DisplayName = Field(min_length=1, max_length=int(limits.get("max_name_chars")),
                              description="Display name shown over the avatar: letters, digits, spaces and "
                                          "punctuation; no control, zero-width or direction-changing characters")
    invite_code: str | None = Field(default=None, max_length=64, description="Required for private rooms")


class RoomView(BaseModel):
    id: str = Field(description="Server-generated room id")
    name: str
    scene: str
    private: bool
    capacity: int
    occupants: int = Field(description="Avatars visible in the room now")
    interest: Literal["auto", "all", "nearby"] | None = Field(default=None,
                                                             description="Echo of the interest mode (create only)")
    invite_code: str | None = Field(default=None, description="Private rooms only, to the creator")


class SeatReservation(BaseModel):
    room: str
    avatar: int
    token: str = Field(description="Join token: send it in the websocket `auth` message within `expires_in` s")
    expires_in: int
    ws_url: str = Field(description="Where to open the websocket (no credentials in it)")
    scene: str


def _hub(request: Request) -> Hub:
    return request.app.state.plaza.hub


def _address(request: Request) -> str:
    return request.client.host if request.client else "?"


def _operator(request: Request) -> bool:
    return request.app.state.plaza.settings.is_operator(request.headers.get("authorization"))


def _problem(exc: RoomError) -> Problem:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return Problem(exc.status, exc.code, exc.message, headers=headers)


@router.get("/api/rooms", summary="List public rooms", response_model=list[RoomView])
async def list_rooms(request: Request) -> list[dict]:
    return _hub(request).registry.list_public()


@router.post("/api/rooms", status_code=201, summary="Create a room", response_model=RoomView,
             response_model_exclude_none=True, responses=responses(404, 429, 503))
async def create_room(body: CreateRoom, request: Request) -> dict:
    hub = _hub(request)
    operator, address = _operator(request), _address(request)
    if not operator and not hub.allow_room_creation(address):
        raise Problem(429, "rate_limited", "too many rooms created from this address; wait a minute",
                      headers={"Retry-After": "60"})
    scene = body.scene or hub.settings.scene
    try:
        limit = {"auto": InterestConfig().all_to_all_limit, "all": MAX_ROOM_SIZE, "nearby": 0}[body.interest]
        info = hub.registry.create(body.name, scene, hub.now(), private=body.private, capacity=body.capacity,
                                   interest=InterestConfig(all_to_all_limit=limit), created_by=address,
                                   exempt=operator)
    except RoomError as exc:
        raise _problem(exc) from None
    except (KeyError, FileNotFoundError, ValueError) as exc:
        raise Problem(404, "unknown_scene", f"no usable scene {scene[:64]!r}: {str(exc)[:200]}") from None
    await asyncio.to_thread(hub.write_rooms, hub.rooms_to_save())  # answered 201 = kept across a restart
    node = getattr(request.app.state.plaza, "node", None)
    if node is not None:
        await node.room_created(info.room.id)
    view = info.public_view() | {"interest": body.interest}
    if info.private:
        view["invite_code"] = info.invite_code
    return view


@router.get("/api/rooms/{room_id}", summary="One public room", response_model=RoomView,
            response_model_exclude_none=True, responses=responses(404))
async def get_room(room_id: str, request: Request) -> dict:
    info = _hub(request).registry.rooms.get(room_id)
    if info is None or info.private:
        raise Problem(404, "room_not_found", "no such public room")
    return info.public_view()


@router.get("/api/stores/{scene_id}/room", summary="A store's own room (created on first use)",
            response_model=RoomView, response_model_exclude_none=True, responses=responses(404))
async def store_room(scene_id: str, request: Request) -> dict:
    from server.scenes.loader import list_scenes

    if scene_id not in list_scenes():
        raise Problem(404, "unknown_scene", f"no store {scene_id[:64]!r}; stores: {', '.join(list_scenes())}")
    return _hub(request).store_room(scene_id).public_view()


@router.post("/api/rooms/{room_id}/join", summary="Reserve a seat and get a join token",
             response_model=SeatReservation, responses=responses(401, 403, 404, 409, 429, 503))
async def join_room(room_id: str, body: JoinRoom, request: Request,
                    x_shopper_key: Annotated[str | None, Header(alias="X-Shopper-Key", description=(
                        "Optional: links the seat to a shopper, so that the shopper's checkout can be confirmed "
                        "by a hand gesture in this room"))] = None) -> dict:
    hub = _hub(request)
    operator, address = _operator(request), _address(request)
    node = getattr(request.app.state.plaza, "node", None)
    forwarded = node.forwarded_address(request.headers) if node is not None else None
    if forwarded is not None:
        address = forwarded  # limited by the node that took the request; seats count the shopper's address
    elif not operator and not hub.allow_join(address):
        raise Problem(429, "rate_limited", "too many joins from this address; wait a moment",
                      headers={"Retry-After": "1"})
    if node is not None:  # many nodes: the room's owner serves the join (docs/SCALING.md)
        try:
            target = await node.route(room_id, forwarded is not None)
        except RoomError as exc:
            raise _problem(exc) from None
        if target is not None:
            status, reply, media = await node.forward_join(target, room_id, body.model_dump(exclude_none=True),
                                                           address, {"X-Shopper-Key": x_shopper_key,
                                                                     "Authorization": request.headers.get(
                                                                         "authorization")})
            return JSONResponse(reply, status_code=status, media_type=media.split(";")[0])
    shopper_id = None
    shop = getattr(request.app.state.plaza, "shop", None)
    if x_shopper_key is not None and shop is not None:
        try:
            shopper_id = await shop.authenticate(x_shopper_key)
        except Exception as exc:
            raise Problem(401, getattr(exc, "code", "shopper_unknown"), getattr(exc, "message", str(exc))) from None
    try:
        info, avatar_id, token = hub.registry.reserve(room_id, body.name, hub.now(), time.time(), body.invite_code,
                                                      address=address, exempt=operator, shopper_id=shopper_id)
    except RoomError as exc:
        raise _problem(exc) from None
    ws_path = f"/ws?v={PROTOCOL_VERSION}&room={room_id}"
    return {
        "room": room_id, "avatar": avatar_id, "token": token, "expires_in": int(limits.get("join_token_ttl_s")),
        "ws_url": node.ws_url(ws_path) if node is not None else ws_path, "scene": info.scene,
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
        "ticks": hub.ticks, "late_ticks": hub.clock.late_ticks, "skipped_ticks": hub.clock.skipped_ticks,
        "tick_work_ms": {"p50": pct(50), "p99": pct(99), "max": recent[-1] if recent else None,
                         "window": len(recent)},
        "cpu_s": times.user + times.system,
        "frames_out": m.get("plaza_frames_out_total"), "bytes_out": m.get("plaza_bytes_out_total"),
        "frames_in": m.get("plaza_frames_in_total"), "bytes_in": m.get("plaza_bytes_in_total"),
        "pose_uploads": m.get("plaza_pose_uploads_total"), "server_time_s": round(hub.now(), 6),
        "frames_replaced": m.get("plaza_frames_replaced_total"),
        "clients": len(hub.sessions),
    }


@router.post("/api/stats/reset", summary="Start a new measurement window for /api/stats percentiles")
async def reset_stats(request: Request) -> dict:
    hub = _hub(request)
    hub.metrics.recent_ticks_ms.clear()
    hub.clock.late_ticks = hub.clock.skipped_ticks = 0
    return {"ok": True}


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
async def metrics(request: Request) -> str:
    return _hub(request).metrics.render()
