"""HTTP API of shopping groups (docs/SOCIAL.md): a thin adapter over `GroupService`.

`mount(app)` starts the service once the shop is up (it shares the shop's storage) and connects the live
layer to the hub. Shoppers authenticate with `X-Shopper-Key`, state-changing requests carry an
`Idempotency-Key` (as the shop's do), errors are RFC 9457 problem details.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from server import limits
from server.commerce.http_answers import as_problem as _ask
from server.commerce.http_answers import no_store as _json
from server.commerce.shop_api import ERRORS, IdempotencyKey, ShopperKey, _once, _who
from server.names import DisplayName
from server.net.problems import Problem, responses
from server.sizing.limiter import AddressLimiter, retry_after
from server.social.groups import normal_code
from server.social.live import GroupLive
from server.social.service import DEFAULT_INVITE_TTL_S, DEFAULT_INVITE_USES, REPORT_REASONS, GroupService

router = APIRouter(tags=["groups"])
GROUP_ERRORS = responses(401, 403, 404, 409, 410, 429, 503)


class NewGroup(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    room: str = Field(min_length=1, max_length=64, description="The room you are in; friends join you there")


class NewInvite(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    uses: int = Field(default=DEFAULT_INVITE_USES, ge=1, le=int(limits.get("max_invite_uses")))
    ttl_s: int = Field(default=DEFAULT_INVITE_TTL_S, ge=60, le=int(limits.get("max_invite_ttl_s")))


class Mute(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    muted: bool


class NewReport(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    member: str = Field(min_length=1, max_length=64)
    reason: Literal[REPORT_REASONS]  # type: ignore[valid-type]
    text: str = Field(default="", max_length=int(limits.get("max_report_chars")))


class NewStaff(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: DisplayName = Field(min_length=1, max_length=int(limits.get("max_name_chars")))
    store: str = Field(min_length=1, max_length=64, description="The store (scene id) this advisor works for")


class BagLine(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    product_id: str = Field(min_length=1, max_length=64)
    variant_id: str = Field(min_length=1, max_length=96)
    quantity: int = Field(default=1, ge=1, le=int(limits.get("max_line_quantity")))


class LineQuantity(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    quantity: int = Field(ge=0, le=int(limits.get("max_line_quantity")), description="0 removes the line")


def _groups(request: Request) -> GroupService:
    groups = getattr(request.app.state.plaza, "groups", None)
    if groups is None:
        raise Problem(503, "groups_unavailable", "shopping groups are starting or stopped; try again in a moment")
    return groups


def _live(request: Request) -> GroupLive:
    return request.app.state.plaza.hub.social






def _code_tries(request: Request) -> None:
    """Invite codes are short: guesses are limited per address."""
    wait = request.app.state.plaza.invite_limiter.take(request.client.host if request.client else "?")
    if wait:
        raise Problem(429, "rate_limited", "too many invite codes tried from this address",
                      headers={"Retry-After": retry_after(wait)})


# ------------------------------------------------------------------ groups and invites
@router.post("/api/groups", status_code=201, summary="Shop with friends: make a group in your room",
             responses=GROUP_ERRORS)
async def create_group(body: NewGroup, request: Request, x_shopper_key: ShopperKey = None,
                       idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    groups = _groups(request)
    info = request.app.state.plaza.hub.registry.rooms.get(body.room)
    if info is None:
        raise Problem(404, "room_not_found", "no such room")

    async def run() -> dict:
        group = await groups.create(shopper, info.scene, body.room)
        return groups.view(group, shopper)
    return await _once(request, shop, shopper, idempotency_key, {"op": "group", **body.model_dump()}, run, 201)


@router.get("/api/groups/mine", summary="Your shopping group (204 when you are in none)",
            responses={**GROUP_ERRORS, 204: {"description": "You are not in a shopping group"}})
async def my_group(request: Request, x_shopper_key: ShopperKey = None) -> Response:
    _, shopper = await _who(request, x_shopper_key)
    groups = _groups(request)
    group = await groups.group_of(shopper)
    if group is None:
        # Most shoppers are in no group: every page asks, so that is an answer, not an error (a 404 would
        # be logged as a failed request in every browser console).
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    return _json(groups.view(group, shopper))


@router.get("/api/groups/{group_id}", summary="A group you are in", responses=GROUP_ERRORS)
async def get_group(group_id: str, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    groups = _groups(request)
    group = await _ask(lambda: groups.group(group_id, shopper))
    return _json(groups.view(group, shopper) | {"chat": list(_live(request).history.get(group.id, ()))})


@router.post("/api/groups/{group_id}/invites", status_code=201, summary="A new invite code", responses=GROUP_ERRORS)
async def new_invite(group_id: str, body: NewInvite, request: Request, x_shopper_key: ShopperKey = None,
                     idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    groups = _groups(request)

    async def run() -> dict:
        invite = await groups.invite(group_id, shopper, body.uses, body.ttl_s)
        return {"code": invite.code, "link": f"/?join={invite.code}", "uses_left": invite.uses_left,
                "expires_at": invite.expires_at}
    return await _once(request, shop, shopper, idempotency_key, {"op": "invite", "group": group_id,
                                                                 **body.model_dump()}, run, 201)


@router.get("/api/invites/{code}", summary="Who invites you (before you accept)", responses=GROUP_ERRORS)
async def invite_preview(code: str, request: Request) -> JSONResponse:
    _code_tries(request)
    return _json(await _ask(lambda: _groups(request).preview(code)))


@router.get("/api/invites/{code}/qr.svg", summary="The invite link as a QR code, for a phone",
            response_class=Response, responses={200: {"content": {"image/svg+xml": {}}}, **responses(404, 410, 429)})
async def invite_qr(code: str, request: Request) -> Response:
    import segno  # QR encoding (Reed-Solomon, masks, versions) is a standard better taken whole than rewritten

    _code_tries(request)
    found = await _ask(lambda: _groups(request).preview(code))
    base = str(request.base_url).rstrip("/")
    out = io.BytesIO()
    segno.make(f"{base}/?join={found['code']}", error="m").save(out, kind="svg", scale=6, border=2,
                                                                 dark="#1d1d1f", xmldecl=False)
    return Response(out.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=300"})


@router.post("/api/invites/{code}/accept", summary="Join the group (you leave any group you were in)",
             responses=GROUP_ERRORS)
async def accept_invite(code: str, request: Request, x_shopper_key: ShopperKey = None,
                        idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    groups = _groups(request)
    _code_tries(request)

    async def run() -> dict:
        group = await groups.accept(code, shopper)
        return groups.view(group, shopper)
    return await _once(request, shop, shopper, idempotency_key, {"op": "accept", "code": normal_code(code)}, run)


@router.post("/api/invites/{code}/decline", summary="Say no (the group hears it)", responses=GROUP_ERRORS)
async def decline_invite(code: str, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    _code_tries(request)
    await _ask(lambda: _groups(request).decline(code, shopper))
    return _json({"ok": True})


@router.post("/api/groups/{group_id}/leave", summary="Leave the group", responses=GROUP_ERRORS)
async def leave_group(group_id: str, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    await _ask(lambda: _groups(request).leave(group_id, shopper))
    return _json({"ok": True})


# ------------------------------------------------------------------ moderation
@router.post("/api/groups/{group_id}/members/{member}/mute", summary="Mute or unmute a member (owner)",
             responses=GROUP_ERRORS)
async def mute_member(group_id: str, member: str, body: Mute, request: Request,
                      x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    groups = _groups(request)
    group = await _ask(lambda: groups.set_muted(group_id, shopper, member, body.muted))
    return _json(groups.view(group, shopper))


@router.post("/api/groups/{group_id}/members/{member}/remove", summary="Remove a member for good (owner)",
             responses=GROUP_ERRORS)
async def remove_member(group_id: str, member: str, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    groups = _groups(request)
    group = await _ask(lambda: groups.remove(group_id, shopper, member))
    return _json(groups.view(group, shopper))


@router.post("/api/blocks/{target}", summary="Block a shopper (for you: their chat, marks and voice stop)",
             responses=GROUP_ERRORS)
async def block(target: str, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    return _json({"blocked": await _ask(lambda: _groups(request).set_block(shopper, target[:64], True))})


@router.delete("/api/blocks/{target}", summary="Unblock a shopper", responses=GROUP_ERRORS)
async def unblock(target: str, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    return _json({"blocked": await _ask(lambda: _groups(request).set_block(shopper, target[:64], False))})


@router.post("/api/groups/{group_id}/reports", status_code=201, summary="Report a member to the store",
             responses=GROUP_ERRORS)
async def report(group_id: str, body: NewReport, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    evidence = _live(request).recent_chat(group_id, body.member)
    report_id = await _ask(lambda: _groups(request).report(group_id, shopper, body.member, body.reason, body.text,
                                                           evidence))
    return _json({"report": report_id}, 201)


def _operator(request: Request) -> None:
    if not request.app.state.plaza.settings.is_operator(request.headers.get("authorization")):
        raise Problem(401, "unauthorized", "this needs the operator token", headers={"WWW-Authenticate": "Bearer"})


@router.get("/api/reports", summary="Reports filed in a store's groups (operator)", responses=GROUP_ERRORS)
async def list_reports(store: str, request: Request) -> JSONResponse:
    _operator(request)
    return _json(await _groups(request).reports(store[:64]))


# ------------------------------------------------------------------ the shared bag
@router.get("/api/groups/{group_id}/bag", summary="The group's shared bag", responses=ERRORS)
async def group_bag(group_id: str, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    return _json(await _ask(lambda: _groups(request).bag(group_id, shopper)))


@router.post("/api/groups/{group_id}/bag/lines", summary="Add to the shared bag", responses=ERRORS)
async def group_bag_add(group_id: str, body: BagLine, request: Request, x_shopper_key: ShopperKey = None,
                        idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    groups = _groups(request)
    return await _once(request, shop, shopper, idempotency_key, {"op": "group_add", "group": group_id,
                                                                 **body.model_dump()},
                       lambda: groups.add_to_bag(group_id, shopper, body.product_id, body.variant_id, body.quantity))


@router.patch("/api/groups/{group_id}/bag/lines/{line_id}", summary="Change a shared line's quantity (0 removes it)",
              responses=ERRORS)
async def group_bag_set(group_id: str, line_id: str, body: LineQuantity, request: Request,
                        x_shopper_key: ShopperKey = None, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    groups = _groups(request)
    return await _once(request, shop, shopper, idempotency_key, {"op": "group_set", "group": group_id,
                                                                 "line": line_id, **body.model_dump()},
                       lambda: groups.set_quantity(group_id, shopper, line_id, body.quantity))


@router.delete("/api/groups/{group_id}/bag/lines/{line_id}", summary="Remove a shared line", responses=ERRORS)
async def group_bag_remove(group_id: str, line_id: str, request: Request, x_shopper_key: ShopperKey = None,
                           idempotency_key: IdempotencyKey = None) -> JSONResponse:
    shop, shopper = await _who(request, x_shopper_key)
    groups = _groups(request)
    return await _once(request, shop, shopper, idempotency_key, {"op": "group_remove", "group": group_id,
                                                                 "line": line_id},
                       lambda: groups.set_quantity(group_id, shopper, line_id, 0))


# ------------------------------------------------------------------ advisors
@router.post("/api/groups/{group_id}/advisor", summary="Call a staff advisor to your group", responses=GROUP_ERRORS)
async def call_advisor(group_id: str, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    groups = _groups(request)
    group = await _ask(lambda: groups.call_advisor(group_id, shopper))
    return _json(groups.view(group, shopper))


@router.delete("/api/groups/{group_id}/advisor", summary="Cancel the advisor call", responses=GROUP_ERRORS)
async def cancel_advisor(group_id: str, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    groups = _groups(request)
    group = await _ask(lambda: groups.cancel_advisor_call(group_id, shopper))
    return _json(groups.view(group, shopper))


@router.post("/api/staff", status_code=201, summary="Make a staff advisor account (operator)",
             responses=GROUP_ERRORS)
async def create_staff(body: NewStaff, request: Request) -> JSONResponse:
    _operator(request)
    from server.scenes.loader import list_scenes

    if body.store not in list_scenes():
        raise Problem(404, "unknown_scene", f"no store {body.store!r}")
    return _json(await _groups(request).create_staff(body.name, body.store), 201)


@router.get("/api/advisor/calls", summary="Waiting advisor calls of your store (staff key)", responses=GROUP_ERRORS)
async def advisor_calls(request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    return _json(await _ask(lambda: _groups(request).advisor_calls(shopper)))


@router.post("/api/advisor/calls/{group_id}/accept", summary="Join a shopper's group as their advisor (staff key)",
             responses=GROUP_ERRORS)
async def accept_call(group_id: str, request: Request, x_shopper_key: ShopperKey = None) -> JSONResponse:
    _, shopper = await _who(request, x_shopper_key)
    groups = _groups(request)
    group = await _ask(lambda: groups.accept_call(shopper, group_id))
    return _json(groups.view(group, shopper))


def mount(app: FastAPI) -> None:
    app.include_router(router)
    services = app.state.plaza
    services.groups = None
    services.invite_limiter = AddressLimiter(int(limits.get("invite_tries_per_address_per_min")), 60.0)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:  # the shop (and its storage) start inside
            groups = GroupService(services.storage, services.shop)
            hub = services.hub
            live = hub.social = GroupLive(groups, hub)
            services.groups = groups
            try:
                yield state
            finally:
                services.groups = hub.social = None
                hub.seat_listeners.remove(live.seat_changed)

    app.router.lifespan_context = lifespan
