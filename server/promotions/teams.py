"""Team buys (拼单): a product's team price for N buyers who join within a window. Sans-I/O rules.

    open --last place taken--> completing --every member charged or dropped--> completed
      \\--deadline passes unfilled--> expired (nobody is charged, every reservation is released)

A join at time t counts only if t < deadline; expiry happens only at now >= deadline. Both are one
compare-and-set on the team document (server/promotions/team_service.py), so a join racing the deadline
either fills the team or finds it expired, never both. A member may leave only while the team is open.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.commerce.shop import ShopError

TeamState = Literal["open", "completing", "completed", "expired"]
MemberStatus = Literal["in", "charged", "declined", "left"]
OFFERS_FILE = Path(__file__).resolve().parents[2] / "assets" / "promotions" / "teams.json"


class TeamError(ShopError):
    """A refusal with a stable code (a shop refusal, so idempotent requests record it)."""


class Offer(BaseModel):
    """One product's team price (assets/promotions/teams.json)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    product: str = Field(min_length=1, max_length=64)
    size: int = Field(ge=2, le=20, description="buyers needed")
    price_minor: int = Field(ge=0, description="each member's price per unit, in minor units")
    window_s: int = Field(ge=60, le=7 * 86400, description="time from a team's start to its deadline")


class OfferFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    offers: list[Offer]


def load_offers(path: Path = OFFERS_FILE) -> dict[str, Offer]:
    offers = OfferFile.model_validate_json(path.read_text()).offers
    return {offer.product: offer for offer in offers}


@dataclass
class TeamMember:
    shopper: str
    name: str
    joined_at: float
    payment_method: str
    delivery: dict[str, Any] | None
    shipping_minor: int
    status: MemberStatus = "in"
    order_id: str | None = None
    reason: str | None = None
    reservation: str = ""  # the stock reservation holding this member's unit


@dataclass
class Team:
    id: str
    product_id: str
    variant_id: str
    product_name: str
    kind: str
    size: int
    unit_minor: int  # the team price
    regular_minor: int
    currency: str
    created_at: float
    deadline: float
    created_by: str
    state: TeamState = "open"
    members: list[TeamMember] = field(default_factory=list)

    @property
    def sku(self) -> str:
        return f"{self.product_id}/{self.variant_id}"

    def active(self) -> list[TeamMember]:
        """Members holding a place: joined and not left (charged or awaiting the charge)."""
        return [m for m in self.members if m.status in ("in", "charged")]

    def member(self, shopper: str) -> TeamMember | None:
        return next((m for m in self.members if m.shopper == shopper and m.status != "left"), None)

    # ------------------------------------------------------------------ transitions
    def join(self, member: TeamMember, now: float) -> bool:
        """Take a place; True when it was the last one (the team now completes)."""
        if self.member(member.shopper) is not None:
            raise TeamError(409, "already_in_team", "you are already in this team")
        if self.state != "open":
            raise TeamError(409, "team_closed", f"this team is {self.state}")
        if now >= self.deadline:
            raise TeamError(410, "team_expired", "this team's time ran out")
        if len(self.active()) >= self.size:
            raise TeamError(409, "team_full", "this team is full")
        self.members.append(member)
        if len(self.active()) == self.size:
            self.state = "completing"
            return True
        return False

    def leave(self, shopper: str) -> TeamMember:
        found = self.member(shopper)
        if found is None:
            raise TeamError(404, "not_in_team", "you are not in this team")
        if self.state != "open":
            raise TeamError(409, "team_closed", "the team is full: it cannot be left any more")
        found.status = "left"
        return found

    def expire(self, now: float) -> list[TeamMember]:
        """Past the deadline and not full: it ends, and these members' reservations go back."""
        if self.state != "open" or now < self.deadline:
            return []
        self.state = "expired"
        return [m for m in self.members if m.status == "in"]

    def settle(self, shopper: str, charged: bool, order_id: str | None, reason: str | None = None) -> None:
        """A member's charge has an outcome (once: a second outcome for the same member is ignored)."""
        found = next(m for m in self.members if m.shopper == shopper and m.status != "left")
        if found.status != "in":
            return
        found.status, found.order_id, found.reason = ("charged" if charged else "declined"), order_id, reason
        if self.state == "completing" and not any(m.status == "in" for m in self.members):
            self.state = "completed"

    # ------------------------------------------------------------------ storage and views
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Team:
        data = dict(data)
        data["members"] = [TeamMember(**m) for m in data["members"]]
        return cls(**data)

    def view(self, viewer: str | None = None) -> dict[str, Any]:
        """What anyone sees (first names, places, time); a member also sees their own status and order."""
        active = self.active()
        out = {"id": self.id, "product_id": self.product_id, "variant_id": self.variant_id,
               "product_name": self.product_name, "size": self.size, "joined": len(active),
               "places_left": max(0, self.size - len(active)) if self.state == "open" else 0,
               "team_price_minor": self.unit_minor, "regular_price_minor": self.regular_minor,
               "currency": self.currency, "deadline": self.deadline, "state": self.state,
               "members": [m.name for m in active], "link": f"/?team={self.id}"}
        mine = self.member(viewer) if viewer else None
        if mine is not None:
            out["you"] = {"status": mine.status, "order_id": mine.order_id, "reason": mine.reason}
        return out
