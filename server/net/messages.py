"""Control messages from clients: one table of type -> schema -> handler (docs/PROTOCOL.md section 5.1).

Each message type is registered once with `@message(name, Schema, ...)`: its schema (a strict pydantic
model) validates it, its handler acts on it, and the same table writes the protocol document's list of
client messages (`python -m server.net.messages` rewrites it; tests/test_messages_doc.py checks it).
A message that fails its schema gets `error` `bad_request` naming the field; an unknown type `unknown_type`.
`auth` is listed for the document but handled by the session before the table is consulted.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, ValidationError

from server import limits
from server.names import DisplayName

if TYPE_CHECKING:
    from server.net.session import Session

RequestId = StrictInt | Annotated[StrictStr, Field(max_length=64)] | None
Number = StrictInt | StrictFloat


class Message(BaseModel):
    """Fields every control message may carry: `t` (its type) and an optional request `id`."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    t: str
    id: RequestId = None


class Ping(Message):
    pass


class Auth(Message):
    token: Annotated[StrictStr, Field(max_length=256)]


class Ack(Message):
    tick: Annotated[StrictInt, Field(ge=0, le=0xFFFFFFFF)]


class Pin(Message):
    avatars: list[StrictInt]


class Teleport(Message):
    to: tuple[Number, Number, Number]


class Leave(Message):
    pass


class Profile(Message):
    height: Annotated[Number, Field(ge=1.0, le=2.3)]


class Rename(Message):
    name: DisplayName = Field(min_length=1, max_length=int(limits.get("max_name_chars")))


class Hold(Message):
    product: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/-]+$")] | None


class Confirm(Message):
    pass


ProductId = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/-]+$")]
MemberId = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Point3 = tuple[Number, Number, Number]


class Chat(Message):
    text: Annotated[StrictStr, Field(min_length=1, max_length=int(limits.get("max_chat_chars")))]


class React(Message):
    emoji: Annotated[StrictStr, Field(max_length=8)]


class Point(Message):
    product: ProductId | None
    from_: Annotated[Point3, Field(alias="from")]
    dir: Point3


class Show(Message):
    product: ProductId


class Follow(Message):
    member: MemberId | None
    jump: bool = False


class Presence(Message):
    away: bool


class Voice(Message):
    on: bool


class Rtc(Message):
    to: MemberId
    kind: Literal["offer", "answer", "ice", "bye"]
    data: StrictStr | dict[str, Any] | None = None


class Draw(Message):
    points: Annotated[list[Point3], Field(min_length=2, max_length=int(limits.get("max_stroke_points")))]
    color: Annotated[StrictStr, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = "#ffcc00"


Handler = Callable[["Session", Any, float], None]


@dataclass(frozen=True)
class MessageType:
    name: str
    schema: type[Message]
    handler: Handler | None  # None: handled by the session itself (auth)
    fields: str  # for the document
    reply: str
    meaning: str
    budget: str = "control"  # which rate limit it counts against: "control" or "pose" (acks)
    aliases: tuple[str, ...] = ()


TABLE: dict[str, MessageType] = {}
_ORDER: list[MessageType] = []


def message(name: str, schema: type[Message], *, fields: str, reply: str, meaning: str, budget: str = "control",
            aliases: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        entry = MessageType(name, schema, handler, fields, reply, meaning, budget, aliases)
        for key in (name, *aliases):
            if key in TABLE:
                raise ValueError(f"message type {key!r} registered twice")
            TABLE[key] = entry
        _ORDER.append(entry)
        return handler
    return register


class BadMessage(ValueError):
    """A message that fails its schema; the text names the field and what was wrong."""


def parse(entry: MessageType, raw: dict) -> Message:
    try:
        return entry.schema.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        text = str(first["msg"]).removeprefix("Value error, ")  # a rule's own words (names) need no prefix
        raise BadMessage(f"'{where}': {text}") from None


# ------------------------------------------------------------------ the table
_AUTH = MessageType("auth", Auth, None, "`token`: string", "`welcome` or a close",
                    "the first message of a connection (section 3); not valid later")
TABLE["auth"] = _AUTH
_ORDER.append(_AUTH)


@message("ping", Ping, fields="`id` (optional)", reply="`pong`", meaning="round-trip time and clock offset")
def _ping(session: Session, msg: Ping, now: float) -> None:
    session.send({"t": "pong", "id": msg.id, "st": session.hub.server_time_ms(now)})


@message("ack", Ack, fields="`tick`: int", reply="none", budget="pose",
         meaning="acknowledges snapshots up to `tick` (section 10); at least every 250 ms while no pose uploads "
                 "go out")
def _ack(session: Session, msg: Ack, now: float) -> None:
    session.sync.ack(msg.tick, session.room.tick_no)


@message("pin", Pin, fields="`avatars`: list of int", reply="`ok`",
         meaning=f"avatars always received at the full rate (your companions); replaces the previous list; only "
                 f"the first {int(limits.get('max_pinned'))} ids count; unknown ids are ignored")
def _pin(session: Session, msg: Pin, now: float) -> None:
    session.sync.pin(msg.avatars[: int(limits.get("max_pinned"))])
    session.send({"t": "ok", "id": msg.id})


@message("teleport", Teleport, fields="`to`: [x, y, z] numbers, metres", reply="`ok` or `error`",
         meaning="move your floor position (see below)")
def _teleport(session: Session, msg: Teleport, now: float) -> None:
    target = tuple(float(v) for v in msg.to)
    if not all(math.isfinite(v) for v in target):
        session.error("teleport_invalid", "teleport target must be three finite numbers", msg.id)
        return
    rejection = session.room.teleport(session.avatar_id, target)
    if rejection is None:
        session.send({"t": "ok", "id": msg.id, "to": list(target)})
    else:
        session.error(rejection.code, rejection.message, msg.id)


@message("profile", Profile, fields="`height`: number, metres (1.0-2.3)", reply="`ok`",
         meaning="your body height, so others draw your avatar to scale; everyone else gets `profile`")
def _profile(session: Session, msg: Profile, now: float) -> None:
    height = round(float(msg.height), 3)
    session.room.set_height(session.avatar_id, height)
    session.send({"t": "ok", "id": msg.id})
    session.hub.broadcast(session.room_id, {"t": "profile", "avatar": session.avatar_id, "height": height},
                          exclude=session.avatar_id)


@message("rename", Rename, fields=f"`name`: string, 1-{int(limits.get('max_name_chars'))} characters, the join's "
         "name rules", reply="`ok` with `name` (as cleaned)",
         meaning="change the name over your avatar without leaving; everyone else gets `renamed`")
def _rename(session: Session, msg: Rename, now: float) -> None:
    session.room.set_name(session.avatar_id, msg.name)
    session.send({"t": "ok", "id": msg.id, "name": msg.name})
    session.hub.broadcast(session.room_id, {"t": "renamed", "avatar": session.avatar_id, "name": msg.name},
                          exclude=session.avatar_id)


@message("hold", Hold, fields="`product`: product id or nil", reply="`ok`",
         meaning="the product you picked up (nil: you put it down); everyone else gets `held`")
def _hold(session: Session, msg: Hold, now: float) -> None:
    session.send({"t": "ok", "id": msg.id})
    if session.room.set_held(session.avatar_id, msg.product):
        session.hub.broadcast(session.room_id, {"t": "held", "avatar": session.avatar_id, "product": msg.product},
                              exclude=session.avatar_id)


@message("leave", Leave, fields="—", reply='close 1000 `"bye"`', meaning="leave the room for good (others get `left`)")
def _leave(session: Session, msg: Leave, now: float) -> None:
    session.leave()


@message("confirm", Confirm, fields="—", reply="`error` `confirm_forbidden`", aliases=("confirmed", "gesture"),
         meaning="refused: a client cannot claim a confirmation; the server sees the gesture in the hands, or the "
                 "hold-to-pay control (HTTP) times it")
def _confirm(session: Session, msg: Confirm, now: float) -> None:
    session.error("confirm_forbidden", "a checkout is confirmed by your hand gesture as the server sees it, or by "
                  "the hold-to-pay control; a message cannot confirm it", msg.id)


# ------------------------------------------------------------------ shopping together (docs/SOCIAL.md)
def _live(session: Session, request_id: Any) -> Any:
    live = session.hub.social
    if live is None:
        session.error("groups_unavailable", "shopping groups are starting or stopped; try again", request_id)
    return live


_GROUP_REPLY = "`ok` or `error`"
_SEE = " (docs/SOCIAL.md)"


@message("chat", Chat, fields=f"`text`: string, 1-{int(limits.get('max_chat_chars'))} characters", reply=_GROUP_REPLY,
         meaning="a chat line to your shopping group; every member (you too) gets `chat`" + _SEE)
def _chat(session: Session, msg: Chat, now: float) -> None:
    if (live := _live(session, msg.id)) is not None:
        live.chat(session, msg.text, msg.id, now)


@message("react", React, fields="`emoji`: one of 👍 ❤️ 😂 😮 👏 🔥", reply=_GROUP_REPLY,
         meaning="a reaction over your avatar; the group gets `reaction`" + _SEE)
def _react(session: Session, msg: React, now: float) -> None:
    if (live := _live(session, msg.id)) is not None:
        live.react(session, msg.emoji, msg.id, now)


@message("point", Point, fields="`product`: id or nil; `from`, `dir`: [x, y, z]", reply=_GROUP_REPLY,
         meaning="a pointing ray (nil product: stopped); the other members get `pointed`" + _SEE)
def _point(session: Session, msg: Point, now: float) -> None:
    if (live := _live(session, msg.id)) is not None:
        live.point(session, msg.product, msg.from_, msg.dir, msg.id, now)


@message("show", Show, fields="`product`: id", reply=_GROUP_REPLY,
         meaning='"look at this": the other members get `shown` and open its card' + _SEE)
def _show(session: Session, msg: Show, now: float) -> None:
    if (live := _live(session, msg.id)) is not None:
        live.show(session, msg.product, msg.id, now)


@message("follow", Follow, fields="`member`: id or nil; `jump`: bool", reply="`ok` (with `to` after a jump) or `error`",
         meaning="follow a member (nil: stop); `jump` moves you next to them; the others get `following`" + _SEE)
def _follow(session: Session, msg: Follow, now: float) -> None:
    if (live := _live(session, msg.id)) is not None:
        live.follow(session, msg.member, msg.jump, msg.id)


@message("presence", Presence, fields="`away`: bool", reply=_GROUP_REPLY,
         meaning="your page is hidden (away) or back; the group gets `group_member`" + _SEE)
def _presence(session: Session, msg: Presence, now: float) -> None:
    if (live := _live(session, msg.id)) is not None:
        live.set_presence(session, msg.away, msg.id)


@message("voice", Voice, fields="`on`: bool", reply=_GROUP_REPLY,
         meaning="your microphone is live or not; the group gets `group_member` with `voice`" + _SEE)
def _voice(session: Session, msg: Voice, now: float) -> None:
    if (live := _live(session, msg.id)) is not None:
        live.voice(session, msg.on, msg.id)


@message("rtc", Rtc, fields="`to`: member id; `kind`: offer/answer/ice/bye; `data`: string or map", reply=_GROUP_REPLY,
         meaning=f"voice signalling to one member, relayed as `rtc`; `data` at most "
                 f"{int(limits.get('max_rtc_bytes'))} bytes" + _SEE)
def _rtc(session: Session, msg: Rtc, now: float) -> None:
    if (live := _live(session, msg.id)) is not None:
        live.rtc(session, msg.to, msg.kind, msg.data, msg.id, now)


@message("draw", Draw, fields=f"`points`: 2-{int(limits.get('max_stroke_points'))} [x, y, z]; `color`: `#rrggbb`",
         reply="`ok` (with `stroke` id) or `error`",
         meaning="a mark drawn in the air; every member gets `stroke`" + _SEE)
def _draw(session: Session, msg: Draw, now: float) -> None:
    if (live := _live(session, msg.id)) is not None:
        live.draw(session, msg.points, msg.color, msg.id, now)


# ------------------------------------------------------------------ the document
def markdown_table() -> str:
    rows = ["| `t` | fields | reply | meaning |", "| --- | --- | --- | --- |"]
    for entry in _ORDER:
        names = f"`{entry.name}`" + (f" (or {', '.join(f'`{a}`' for a in entry.aliases)})" if entry.aliases else "")
        rows.append(f"| {names} | {entry.fields} | {entry.reply} | {entry.meaning} |")
    return "\n".join(rows)


DOC = Path(__file__).resolve().parents[2] / "docs" / "PROTOCOL.md"
_MARKERS = re.compile(r"(<!-- BEGIN CLIENT MESSAGES \(server/net/messages.py\) -->\n).*?(<!-- END CLIENT MESSAGES -->)",
                      re.S)


def doc_with_table(text: str) -> str:
    return _MARKERS.sub(lambda m: m.group(1) + markdown_table() + "\n" + m.group(2), text)


if __name__ == "__main__":
    DOC.write_text(doc_with_table(DOC.read_text()))
    sys.exit(0)
