"""Shopping groups ("Shop with friends"): membership, invites, roles and moderation. Sans-I/O.

A `Group` is plain data; each method checks who may do it (the `ALLOWED` table, docs/SOCIAL.md "Who may do
what") and changes the group or raises `SocialError` with a stable code. The service
(server/social/service.py) loads a group from storage, calls one method, and saves it with compare-and-set,
so two members acting at once never lose a change. Time comes in as `now`; nothing here reads a clock.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from server import limits
from server.commerce.shop import ShopError

Role = Literal["owner", "member", "advisor"]
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud or typed on a phone
CODE_LENGTH = 6

# action -> roles that may do it. `MUTED_CANNOT`: actions a muted member loses.
ALLOWED: dict[str, frozenset[str]] = {
    "invite": frozenset({"owner", "member"}),
    "chat": frozenset({"owner", "member", "advisor"}),
    "voice": frozenset({"owner", "member", "advisor"}),
    "draw": frozenset({"owner", "member", "advisor"}),
    "point": frozenset({"owner", "member", "advisor"}),
    "edit_bag": frozenset({"owner", "member"}),
    "see_bag": frozenset({"owner", "member", "advisor"}),
    "checkout": frozenset({"owner", "member"}),
    "call_advisor": frozenset({"owner", "member"}),
    "moderate": frozenset({"owner"}),  # mute, unmute, remove
    "report": frozenset({"owner", "member", "advisor"}),
}
MUTED_CANNOT = frozenset({"chat", "voice", "draw"})


class SocialError(ShopError):
    """A refusal with a stable code and the HTTP status the adapter answers with (a kind of the shop's refusal,
    so idempotent requests record it the same way)."""


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normal_code(code: str) -> str:
    """Codes are case-insensitive and may be typed with spaces or dashes."""
    return "".join(ch for ch in code.upper() if ch not in " -")


@dataclass
class Member:
    member: str  # the shopper id
    name: str
    role: Role
    joined_at: float
    muted: bool = False


@dataclass
class Invite:
    code: str
    created_by: str
    expires_at: float
    uses_left: int


@dataclass
class Group:
    id: str
    store: str
    room: str
    created_at: float
    members: dict[str, Member] = field(default_factory=dict)
    invites: dict[str, Invite] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)  # shopper ids that may never rejoin
    advisor_call: dict[str, Any] | None = None  # {"at", "by"} while a call waits

    # ------------------------------------------------------------------ construction and storage
    @classmethod
    def create(cls, group_id: str, store: str, room: str, owner: str, owner_name: str, now: float) -> Group:
        group = cls(group_id, store, room, now)
        group.members[owner] = Member(owner, owner_name, "owner", now)
        return group

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Group:
        return cls(data["id"], data["store"], data["room"], data["created_at"],
                   {k: Member(**v) for k, v in data["members"].items()},
                   {k: Invite(**v) for k, v in data["invites"].items()},
                   list(data.get("removed", [])), data.get("advisor_call"))

    # ------------------------------------------------------------------ permissions
    def member(self, shopper_id: str) -> Member:
        found = self.members.get(shopper_id)
        if found is None:
            raise SocialError(403, "not_a_member", "you are not in this group")
        return found

    def require(self, shopper_id: str, action: str) -> Member:
        """The acting member, if their role allows `action` (and a mute does not take it away)."""
        actor = self.member(shopper_id)
        if actor.role not in ALLOWED[action]:
            raise SocialError(403, "not_allowed", f"a group {actor.role} cannot {action.replace('_', ' ')}")
        if actor.muted and action in MUTED_CANNOT:
            raise SocialError(403, "muted", "the group's owner muted you")
        return actor

    @property
    def shoppers(self) -> list[Member]:
        """Members who are shoppers (not advisors), in joining order."""
        return sorted((m for m in self.members.values() if m.role != "advisor"), key=lambda m: m.joined_at)

    # ------------------------------------------------------------------ invites
    def live_invites(self, now: float) -> list[Invite]:
        return [i for i in self.invites.values() if i.expires_at > now and i.uses_left > 0]

    def add_invite(self, actor: str, code: str, now: float, uses: int, ttl_s: float) -> Invite:
        self.require(actor, "invite")
        max_uses, max_ttl = int(limits.get("max_invite_uses")), limits.get("max_invite_ttl_s")
        if not 1 <= uses <= max_uses:
            raise SocialError(422, "bad_invite", f"an invite is for 1 to {max_uses} people")
        if not 60 <= ttl_s <= max_ttl:
            raise SocialError(422, "bad_invite", f"an invite lasts 60 s to {int(max_ttl)} s")
        self.invites = {c: i for c, i in self.invites.items() if i.expires_at > now and i.uses_left > 0}
        if len(self.invites) >= 10:
            raise SocialError(409, "too_many_invites", "this group has 10 open invites; let some expire")
        invite = self.invites[code] = Invite(code, actor, now + ttl_s, uses)
        return invite

    def accept(self, code: str, shopper_id: str, name: str, now: float) -> Member:
        """Join with an invite code. A member who uses a code again stays as they were."""
        if shopper_id in self.members:
            return self.members[shopper_id]
        if shopper_id in self.removed:
            raise SocialError(403, "removed_from_group", "the group's owner removed you from this group")
        invite = self.invites.get(code)
        if invite is None:
            raise SocialError(404, "invite_unknown", "no such invite")
        if invite.expires_at <= now:
            raise SocialError(410, "invite_expired", "this invite has expired; ask for a new one")
        if invite.uses_left <= 0:
            raise SocialError(410, "invite_used_up", "this invite has been used up; ask for a new one")
        self._check_room_for_one()
        invite.uses_left -= 1
        joined = self.members[shopper_id] = Member(shopper_id, name, "member", now)
        return joined

    def _check_room_for_one(self) -> None:
        if len(self.members) >= int(limits.get("max_group_members")):
            raise SocialError(409, "group_full", f"a group holds {int(limits.get('max_group_members'))} people")

    def add_advisor(self, staff_id: str, name: str, now: float) -> Member:
        if staff_id in self.members:
            return self.members[staff_id]
        if self.advisor_call is None:
            raise SocialError(409, "no_call", "this group is not waiting for an advisor")
        self._check_room_for_one()
        self.advisor_call = None
        joined = self.members[staff_id] = Member(staff_id, name, "advisor", now)
        return joined

    # ------------------------------------------------------------------ leaving and moderation
    def leave(self, shopper_id: str) -> Member | None:
        """Remove a member; the earliest shopper becomes owner when the owner leaves. The new owner, if any."""
        gone = self.member(shopper_id)
        del self.members[shopper_id]
        if gone.role != "owner":
            return None
        remaining = self.shoppers
        if not remaining:
            return None
        remaining[0].role = "owner"
        return remaining[0]

    @property
    def ended(self) -> bool:
        return not self.shoppers  # advisors alone do not keep a group

    def set_muted(self, actor: str, target: str, muted: bool) -> Member:
        self.require(actor, "moderate")
        member = self.member(target)
        if target == actor:
            raise SocialError(409, "not_yourself", "mute your own microphone on your side instead")
        member.muted = muted
        return member

    def remove(self, actor: str, target: str) -> Member:
        self.require(actor, "moderate")
        member = self.member(target)
        if target == actor:
            raise SocialError(409, "not_yourself", "to go, leave the group")
        del self.members[target]
        if target not in self.removed:
            self.removed.append(target)
        return member

    def call_advisor(self, actor: str, now: float) -> None:
        self.require(actor, "call_advisor")
        if any(m.role == "advisor" for m in self.members.values()):
            raise SocialError(409, "advisor_present", "an advisor is already with you")
        if self.advisor_call is None:
            self.advisor_call = {"at": now, "by": actor}

    def cancel_advisor_call(self, actor: str) -> None:
        self.require(actor, "call_advisor")
        self.advisor_call = None
