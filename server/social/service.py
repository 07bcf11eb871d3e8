"""Groups on the storage layer: create, invite, join, leave, moderate, the shared bag, advisors. Async, no HTTP.

Every change loads the group document, applies one rule from server/social/groups.py and saves it with
compare-and-set (storage kind `group`), so concurrent members never lose each other's changes. Invite codes
(`invite`, expiring with the invite), each shopper's current group (`membership`), personal blocks (`blocks`),
staff accounts (`staff`), advisor calls (`advisor_call`, indexed by store) and reports (`report`, indexed by
store) are documents too: nothing lives only in this process except a cache of the groups this process saw,
which the live layer reads synchronously. Changes are announced through `on_event(group, message, to)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

from server import limits
from server.commerce.shop import Shop
from server.social.groups import Group, Invite, SocialError, new_code, normal_code
from server.storage import Storage, VersionConflict

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_INVITE_USES = 10
DEFAULT_INVITE_TTL_S = 2 * 3600
REPORT_REASONS = ("abuse", "spam", "other")
# (group, message, recipients): recipients None = every member.
EventSink = Callable[[Group, dict[str, Any], "set[str] | None"], None]


def bag_key(group_id: str) -> str:
    return f"group:{group_id}"


class GroupService:
    def __init__(self, storage: Storage, shop: Shop, clock: Callable[[], float] = time.time) -> None:
        self.storage, self.shop, self.clock = storage, shop, clock
        self.cache: dict[str, Group] = {}  # group id -> the newest version this process saw
        self.member_of: dict[str, str] = {}  # shopper id -> group id, for the groups in the cache
        self.blocks: dict[str, frozenset[str]] = {}  # shopper id -> shoppers they blocked (loaded on demand)
        self.staff_stores: dict[str, str | None] = {}  # shopper id -> store they advise for (None: not staff)
        self.on_event: EventSink | None = None
        self.presence: Callable[[Group, str], dict[str, Any]] = lambda group, member: {"presence": "away",
                                                                                         "avatars": [], "room": None}
        self._tasks: set[asyncio.Task] = set()
        shop.on_bag_change = self._bag_changed

    # ------------------------------------------------------------------ events and cache
    def _emit(self, group: Group, message: dict[str, Any], to: set[str] | None = None) -> None:
        if self.on_event is not None:
            try:
                self.on_event(group, {"group": group.id} | message, to)
            except Exception:
                log.exception("group event listener failed")

    def _remember(self, group: Group) -> None:
        for shopper, gid in list(self.member_of.items()):
            if gid == group.id and shopper not in group.members:
                del self.member_of[shopper]
        if group.ended:
            self.cache.pop(group.id, None)
            return
        self.cache[group.id] = group
        for shopper in group.members:
            self.member_of[shopper] = group.id

    def cached_group_of(self, shopper_id: str) -> Group | None:
        gid = self.member_of.get(shopper_id)
        return self.cache.get(gid) if gid else None

    # ------------------------------------------------------------------ documents
    async def _load(self, group_id: str) -> tuple[int, Group]:
        doc = await self.storage.get("group", group_id)
        if doc is None or doc.value.get("ended"):
            self.cache.pop(group_id, None)
            raise SocialError(404, "group_unknown", "no such group (it may have ended)")
        return doc.version, Group.from_dict(doc.value)

    async def group(self, group_id: str, viewer: str) -> Group:
        _, group = await self._load(group_id)
        group.member(viewer)
        self._remember(group)
        return group

    async def _edit(self, group_id: str, change: Callable[[Group], T]) -> tuple[Group, T]:
        for _ in range(50):
            version, group = await self._load(group_id)
            result = change(group)
            value = group.to_dict() | ({"ended": True} if group.ended else {})
            ttl = 60.0 if group.ended else limits.get("group_idle_ttl_s")
            try:
                await self.storage.put("group", group_id, value, version, ttl_s=ttl)
            except VersionConflict:
                continue
            self._remember(group)
            return group, result
        raise SocialError(409, "group_busy", "the group is changing; try again")

    async def _set_membership(self, shopper_id: str, group_id: str | None) -> None:
        while True:
            doc = await self.storage.get("membership", shopper_id)
            try:
                if group_id is None:
                    if doc is not None:
                        await self.storage.put("membership", shopper_id, {"group": None}, doc.version, ttl_s=60)
                    return
                await self.storage.put("membership", shopper_id, {"group": group_id}, doc.version if doc else 0,
                                       ttl_s=limits.get("group_idle_ttl_s"))
                return
            except VersionConflict:
                continue

    async def group_of(self, shopper_id: str) -> Group | None:
        """The shopper's group, from storage (and into the cache the live layer reads)."""
        doc = await self.storage.get("membership", shopper_id)
        gid = doc.value.get("group") if doc else None
        if not gid:
            self.member_of.pop(shopper_id, None)
            return None
        try:
            _, group = await self._load(gid)
        except SocialError:
            return None
        if shopper_id not in group.members:
            return None
        self._remember(group)
        return group

    async def _name(self, shopper_id: str) -> str:
        return (await self.shop.shopper(shopper_id))["name"] or "Shopper"

    # ------------------------------------------------------------------ views
    def view(self, group: Group, viewer: str) -> dict[str, Any]:
        """What a member sees: names, roles, presence; never measurements, orders or wardrobes."""
        now = self.clock()
        members = [{"member": m.member, "name": m.name, "role": m.role, "muted": m.muted}
                   | self.presence(group, m.member) for m in sorted(group.members.values(), key=lambda m: m.joined_at)]
        invites = [{"code": i.code, "link": f"/?join={i.code}", "uses_left": i.uses_left, "expires_at": i.expires_at}
                   for i in group.live_invites(now)] if group.members[viewer].role != "advisor" else []
        first = invites[0]["code"] if invites else None
        return {"id": group.id, "store": group.store, "room": group.room, "created_at": group.created_at,
                "code": first, "link": f"/?join={first}" if first else None, "you": viewer,
                "members": members, "invites": invites, "advisor_call": group.advisor_call}

    # ------------------------------------------------------------------ membership
    async def create(self, shopper_id: str, store: str, room: str) -> Group:
        previous = await self.group_of(shopper_id)
        if previous is not None:
            await self.leave(previous.id, shopper_id)
        group_id = "g_" + secrets.token_urlsafe(9)
        group = Group.create(group_id, store, room, shopper_id, await self._name(shopper_id), self.clock())
        await self.storage.put("group", group_id, group.to_dict(), 0, ttl_s=limits.get("group_idle_ttl_s"))
        self._remember(group)
        await self._set_membership(shopper_id, group_id)
        await self.invite(group_id, shopper_id, DEFAULT_INVITE_USES, DEFAULT_INVITE_TTL_S)
        return self.cache[group_id]

    async def invite(self, group_id: str, actor: str, uses: int, ttl_s: float) -> Invite:
        for _ in range(10):  # a fresh code that no live invite holds
            code = new_code()
            try:
                await self.storage.put("invite", code, {"group": group_id}, 0, ttl_s=min(ttl_s, 86400.0) + 60)
                break
            except VersionConflict:
                continue
        else:
            raise SocialError(503, "no_code", "could not make an invite code; try again")
        try:
            group, invite = await self._edit(group_id, lambda g: g.add_invite(actor, code, self.clock(), uses, ttl_s))
        except SocialError:
            await self.storage.delete("invite", code)
            raise
        self._emit(group, {"t": "group"})
        return invite

    async def _invite_group(self, code: str) -> tuple[str, Group]:
        code = normal_code(code)
        doc = await self.storage.get("invite", code) if len(code) == 6 else None
        if doc is None:
            raise SocialError(404, "invite_unknown", "no such invite code")
        try:
            _, group = await self._load(doc.value["group"])
        except SocialError:
            raise SocialError(410, "invite_expired", "that group has ended") from None
        return code, group

    async def preview(self, code: str) -> dict[str, Any]:
        """What an invited person sees before accepting."""
        code, group = await self._invite_group(code)
        invite = group.invites.get(code)
        if invite is None or invite.expires_at <= self.clock() or invite.uses_left <= 0:
            raise SocialError(410, "invite_expired", "this invite has expired or been used up; ask for a new one")
        owner = next((m.name for m in group.members.values() if m.role == "owner"), "")
        return {"code": code, "group": group.id, "store": group.store, "room": group.room, "owner_name": owner,
                "members": len(group.members), "expires_at": invite.expires_at}

    async def accept(self, code: str, shopper_id: str) -> Group:
        code, group = await self._invite_group(code)
        if shopper_id in group.members:
            return group
        previous = await self.group_of(shopper_id)
        if previous is not None and previous.id != group.id:
            await self.leave(previous.id, shopper_id)
        name = await self._name(shopper_id)
        group, member = await self._edit(group.id, lambda g: g.accept(code, shopper_id, name, self.clock()))
        await self._set_membership(shopper_id, group.id)
        self._emit(group, {"t": "group_member", "member": shopper_id, "name": member.name, "role": member.role,
                           "joined": True} | self.presence(group, shopper_id))
        return group

    async def decline(self, code: str, shopper_id: str) -> None:
        _, group = await self._invite_group(code)
        self._emit(group, {"t": "group_declined", "name": await self._name(shopper_id)})

    async def leave(self, group_id: str, shopper_id: str, reason: str = "left") -> None:
        group, new_owner = await self._edit(group_id, lambda g: g.leave(shopper_id))
        await self._set_membership(shopper_id, None)
        self._after_departure(group, shopper_id, reason, new_owner)

    def _after_departure(self, group: Group, gone: str, reason: str, new_owner: Any = None) -> None:
        if group.ended:
            self._emit(group, {"t": "group_ended"}, set(group.members))
            return
        self._emit(group, {"t": "group_member", "member": gone, "left": reason})
        if new_owner is not None:
            self._emit(group, {"t": "group_member", "member": new_owner.member, "role": "owner"})

    async def set_muted(self, group_id: str, actor: str, target: str, muted: bool) -> Group:
        group, _ = await self._edit(group_id, lambda g: g.set_muted(actor, target, muted))
        self._emit(group, {"t": "group_member", "member": target, "muted": muted})
        return group

    async def remove(self, group_id: str, actor: str, target: str) -> Group:
        group, _ = await self._edit(group_id, lambda g: g.remove(actor, target))
        await self._set_membership(target, None)
        self._emit(group, {"t": "group_removed"}, {target})
        self._after_departure(group, target, "removed")
        return group

    # ------------------------------------------------------------------ blocks and reports
    async def blocked_by(self, shopper_id: str) -> frozenset[str]:
        found = self.blocks.get(shopper_id)
        if found is None:
            doc = await self.storage.get("blocks", shopper_id)
            found = self.blocks[shopper_id] = frozenset(doc.value["blocked"] if doc else ())
        return found

    async def set_block(self, shopper_id: str, target: str, blocked: bool) -> list[str]:
        if target == shopper_id:
            raise SocialError(409, "not_yourself", "you cannot block yourself")
        while True:
            doc = await self.storage.get("blocks", shopper_id)
            current = set(doc.value["blocked"]) if doc else set()
            if blocked and len(current) >= 500:
                raise SocialError(409, "too_many_blocks", "you have blocked 500 shoppers")
            (current.add if blocked else current.discard)(target)
            try:
                await self.storage.put("blocks", shopper_id, {"blocked": sorted(current)}, doc.version if doc else 0)
                break
            except VersionConflict:
                continue
        self.blocks[shopper_id] = frozenset(current)
        return sorted(current)

    async def report(self, group_id: str, reporter: str, target: str, reason: str, text: str,
                     evidence: list[dict[str, Any]]) -> str:
        group = await self.group(group_id, reporter)
        group.require(reporter, "report")
        if target not in group.members and target not in group.removed:
            raise SocialError(404, "not_a_member", "that person is not in this group")
        if reason not in REPORT_REASONS:
            raise SocialError(422, "bad_report", f"reason is one of {', '.join(REPORT_REASONS)}")
        if len(text) > limits.get("max_report_chars"):
            raise SocialError(422, "bad_report",
                              f"a report is at most {int(limits.get('max_report_chars'))} characters")
        recent = await self.storage.owned("report_by", reporter)
        now = self.clock()
        counted = 0
        for rid in recent[-int(limits.get("reports_per_shopper_per_hour")):]:
            doc = await self.storage.get("report", rid)
            counted += bool(doc and now - doc.value["at"] < 3600)
        if counted >= limits.get("reports_per_shopper_per_hour"):
            raise SocialError(429, "rate_limited", "you have filed many reports this hour; the store will look at them")
        report_id = "r_" + secrets.token_urlsafe(9)
        await self.storage.put("report", report_id, {
            "id": report_id, "store": group.store, "group": group.id, "reporter": reporter, "member": target,
            "member_name": group.members[target].name if target in group.members else "", "reason": reason,
            "text": text, "at": now, "recent_chat": evidence}, 0, owner=f"store:{group.store}")
        await self.storage.put("report_by", report_id, {"at": now}, 0, owner=reporter, ttl_s=3600)
        return report_id

    async def reports(self, store: str) -> list[dict[str, Any]]:
        found = []
        for rid in await self.storage.owned("report", f"store:{store}"):
            doc = await self.storage.get("report", rid)
            if doc is not None:
                found.append(doc.value)
        return found

    # ------------------------------------------------------------------ staff and advisors
    async def create_staff(self, name: str, store: str) -> dict[str, str]:
        made = await self.shop.create_shopper(name)
        await self.storage.put("staff", made["shopper_id"], {"store": store, "name": name}, 0, owner=f"store:{store}")
        self.staff_stores[made["shopper_id"]] = store
        return made | {"store": store}

    async def staff_store(self, shopper_id: str) -> str | None:
        """Read from storage every time (an account the owner ended on any node stops at once); the cache is
        only for the live connection's synchronous routing of advisor calls."""
        doc = await self.storage.get("staff", shopper_id)
        self.staff_stores[shopper_id] = doc.value["store"] if doc else None
        return self.staff_stores[shopper_id]

    async def _require_staff(self, shopper_id: str) -> str:
        store = await self.staff_store(shopper_id)
        if store is None:
            raise SocialError(403, "not_staff", "this needs a staff key (made by the store owner)")
        return store

    async def call_advisor(self, group_id: str, actor: str) -> Group:
        group, _ = await self._edit(group_id, lambda g: g.call_advisor(actor, self.clock()))
        call = {"group": group.id, "store": group.store, "room": group.room, "at": group.advisor_call["at"],
                "by": group.members[actor].name}
        with contextlib.suppress(VersionConflict):  # already waiting: one call per group
            await self.storage.put("advisor_call", group.id, call, 0, owner=f"store:{group.store}", ttl_s=3600)
        self._emit(group, {"t": "group"})
        self._emit(group, {"t": "advisor_call"} | call, set())  # to the store's staff, not the members
        return group

    async def cancel_advisor_call(self, group_id: str, actor: str) -> Group:
        group, _ = await self._edit(group_id, lambda g: g.cancel_advisor_call(actor))
        await self.storage.delete("advisor_call", group.id)
        self._emit(group, {"t": "group"})
        return group

    async def advisor_calls(self, staff_id: str) -> list[dict[str, Any]]:
        store = await self._require_staff(staff_id)
        calls = []
        for gid in await self.storage.owned("advisor_call", f"store:{store}"):
            doc = await self.storage.get("advisor_call", gid)
            if doc is not None:
                calls.append(doc.value)
        return sorted(calls, key=lambda c: c["at"])

    async def accept_call(self, staff_id: str, group_id: str) -> Group:
        store = await self._require_staff(staff_id)
        _, current = await self._load(group_id)
        if current.store != store:
            raise SocialError(403, "not_allowed", "this call is for another store's staff")
        previous = await self.group_of(staff_id)
        if previous is not None and previous.id != group_id:
            await self.leave(previous.id, staff_id)
        name = await self._name(staff_id)
        group, _ = await self._edit(group_id, lambda g: g.add_advisor(staff_id, name, self.clock()))
        await self.storage.delete("advisor_call", group_id)
        await self._set_membership(staff_id, group_id)
        self._emit(group, {"t": "group_member", "member": staff_id, "name": name, "role": "advisor", "joined": True}
                   | self.presence(group, staff_id))
        return group

    # ------------------------------------------------------------------ the shared bag
    async def _bag_member(self, group_id: str, shopper_id: str, action: str) -> Group:
        group = await self.group(group_id, shopper_id)
        group.require(shopper_id, action)
        return group

    def _with_names(self, group: Group, bag: dict[str, Any]) -> dict[str, Any]:
        for line in bag["lines"]:
            who = group.members.get(line.get("added_by", ""))
            line["added_by_name"] = who.name if who else "someone who left"
        return bag | {"group": group.id}

    async def bag(self, group_id: str, shopper_id: str) -> dict[str, Any]:
        group = await self._bag_member(group_id, shopper_id, "see_bag")
        return self._with_names(group, await self.shop.bag(bag_key(group_id)))

    async def add_to_bag(self, group_id: str, shopper_id: str, product_id: str, variant_id: str,
                         quantity: int) -> dict[str, Any]:
        group = await self._bag_member(group_id, shopper_id, "edit_bag")
        bag = await self.shop.add_to_bag(bag_key(group_id), product_id, variant_id, quantity, added_by=shopper_id)
        return self._with_names(group, bag)

    async def set_quantity(self, group_id: str, shopper_id: str, line_id: str, quantity: int) -> dict[str, Any]:
        group = await self._bag_member(group_id, shopper_id, "edit_bag")
        bag = await self.shop.set_quantity(bag_key(group_id), line_id, quantity, by=shopper_id)
        return self._with_names(group, bag)

    async def checkout_group(self, group_id: str, shopper_id: str, part: str, payment_method: str,
                             delivery: dict[str, Any] | None, coupon: str | None = None) -> dict[str, Any]:
        await self._bag_member(group_id, shopper_id, "checkout")
        return await self.shop.open_checkout(shopper_id, payment_method, delivery, bag_key=bag_key(group_id),
                                             only_added_by=shopper_id if part == "mine" else None, coupon=coupon)

    def _bag_changed(self, key: str, by: str | None) -> None:
        """Every member sees a shared bag change within a tick or two (`group_bag`)."""
        if not key.startswith("group:") or self.on_event is None:
            return
        group = self.cache.get(key.removeprefix("group:"))
        if group is None:
            return

        async def tell() -> None:
            try:
                bag = self._with_names(group, await self.shop.bag(key))
            except Exception:
                log.exception("could not read the shared bag of %s", group.id)
                return
            self._emit(group, {"t": "group_bag", "by": by, "bag": bag})

        task = asyncio.get_running_loop().create_task(tell())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
