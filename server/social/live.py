"""The live side of shopping groups: events to members' connections, presence, pins, chat, pointing, follow,
voice signalling and drawn marks over the room websocket (docs/SOCIAL.md "Websocket").

It reads groups from the service's cache (loaded when a member's connection opens) so that a websocket
message is handled without waiting on storage; it never decides membership itself.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from typing import TYPE_CHECKING, Any

import msgpack
import numpy as np

from server import limits
from server.net.rate import TokenBucket
from server.social.groups import Group, SocialError
from server.social.service import GroupService

if TYPE_CHECKING:
    from server.net.hub import Hub
    from server.net.session import Session

log = logging.getLogger(__name__)
REACTIONS = ("👍", "❤️", "😂", "😮", "👏", "🔥")
# Messages a member's personal block stops (the sender is `member`, or `from` for signalling).
BLOCKABLE = frozenset({"chat", "reaction", "pointed", "shown", "stroke", "rtc", "following", "guide"})
VIEW_AFTER = frozenset({"group_member"})  # events after which every member gets their fresh view
# Control characters, bidirectional overrides and zero-width characters: nothing that hides or reorders text.
_UNSAFE = re.compile("[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def _bucket(rate: float, burst: float, now: float) -> TokenBucket:
    return TokenBucket(rate=rate, burst=burst, now=now)


class GroupLive:
    def __init__(self, service: GroupService, hub: Hub) -> None:
        self.service, self.hub = service, hub
        self.away: set[str] = set()  # members whose page said it is hidden
        self.voice_on: set[str] = set()
        self.history: dict[str, deque[dict[str, Any]]] = {}
        self.chat_buckets: dict[str, TokenBucket] = {}  # per shopper: several tabs share one allowance
        self.session_buckets: dict[int, dict[str, TokenBucket]] = {}  # per connection: pointing, marks, rtc
        self.stroke_seq = 0
        self.tasks: set[asyncio.Task] = set()
        # Many nodes: events also go to the other nodes, whose members' connections live there
        # (server/cluster/node.py sets it); what they last said about their members' presence is kept here.
        self.relay: Any = None
        self.remote_presence: dict[str, dict[str, Any]] = {}
        service.on_event = self.deliver
        service.presence = self.presence
        hub.seat_listeners.append(self.seat_changed)

    # ------------------------------------------------------------------ who is where
    def shopper_of(self, session: Session) -> str | None:
        info = self.hub.registry.rooms.get(session.room_id)
        return info.seat_shopper.get(session.avatar_id) if info else None

    def sessions_of(self, shopper_id: str) -> list[Session]:
        found = []
        for info, avatar_id in self.hub.registry.seats_of(shopper_id):
            session = self.hub.sessions.get((info.room.id, avatar_id))
            if session is not None:
                found.append(session)
        return found

    def presence(self, group: Group, member: str) -> dict[str, Any]:
        sessions = self.sessions_of(member)
        if not sessions and member in self.remote_presence:  # connected to another node
            return dict(self.remote_presence[member])
        in_room = [s for s in sessions if s.room_id == group.room]
        room = in_room[0].room_id if in_room else (sessions[0].room_id if sessions else None)
        here = bool(in_room) and member not in self.away
        return {"presence": "here" if here else "away", "room": room, "voice": member in self.voice_on,
                "avatars": sorted(s.avatar_id for s in sessions if s.room_id == room)}

    # ------------------------------------------------------------------ delivery
    def deliver(self, group: Group, message: dict[str, Any], to: set[str] | None, relay: bool = True) -> None:
        if relay and self.relay is not None:
            self.relay(group, message, to)
        kind = message["t"]
        if kind == "group":  # "the group changed": each member gets their own fresh view
            self.send_views(group)
            self.refresh_pins(group)
            return
        recipients = set(group.members) if to is None else to
        sender = message.get("member") if kind in BLOCKABLE else None
        for member in recipients:
            if sender is not None and sender in self.service.blocks.get(member, ()):
                continue
            for session in self.sessions_of(member):
                session.send(message)
        if kind in VIEW_AFTER:
            self.send_views(group)
            self.refresh_pins(group)
        elif kind == "advisor_call":
            self._tell_staff(message)
        elif kind in ("group_ended", "group_removed"):
            self.refresh_pins(group, gone=recipients)

    def send_views(self, group: Group) -> None:
        for member in group.members:
            view = None
            for session in self.sessions_of(member):
                view = view or {"t": "group"} | self.service.view(group, member) | {
                    "chat": list(self.history.get(group.id, ()))}
                session.send(view)

    def _tell_staff(self, message: dict[str, Any]) -> None:
        for session in list(self.hub.sessions.values()):
            shopper = self.shopper_of(session)
            if shopper is not None and self.service.staff_stores.get(shopper) == message["store"]:
                session.send(message)

    def refresh_pins(self, group: Group, gone: set[str] = frozenset()) -> None:
        """Members always receive each other at the full rate (the `pin` mechanism, set by the server)."""
        sessions = [s for m in group.members for s in self.sessions_of(m)]
        for session in sessions:
            if session.sync is not None:
                session.sync.pin_group({o.avatar_id for o in sessions if o.room_id == session.room_id})
        for member in gone:
            for session in self.sessions_of(member):
                if session.sync is not None:
                    session.sync.pin_group(set())

    # ------------------------------------------------------------------ connections opening and closing
    def seat_changed(self, session: Session, opened: bool) -> None:
        shopper = self.shopper_of(session)
        if shopper is None:
            return
        if opened:
            task = asyncio.get_running_loop().create_task(self._load(session, shopper))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return
        self.session_buckets.pop(id(session), None)
        group = self.service.cached_group_of(shopper)
        if group is not None:
            if not any(s is not session for s in self.sessions_of(shopper)):
                self.voice_on.discard(shopper)
            self.deliver(group, {"group": group.id, "t": "group_member", "member": shopper}
                         | self._presence_without(group, shopper, session), None)

    def _presence_without(self, group: Group, member: str, closing: Session) -> dict[str, Any]:
        # The closing session is still listed as a seat until the hub forgets it: leave it out.
        found = self.presence(group, member)
        if closing.room_id == found["room"]:
            found["avatars"] = [a for a in found["avatars"] if a != closing.avatar_id]
            if not found["avatars"]:
                found |= {"presence": "away", "room": None}
        return found

    async def _load(self, session: Session, shopper: str) -> None:
        """A member's connection opened: load their group and blocks, then tell the group they are here."""
        try:
            await self.service.blocked_by(shopper)
            await self.service.staff_store(shopper)
            group = await self.service.group_of(shopper)
        except Exception:
            log.exception("could not load the group of %s", shopper)
            return
        if group is not None and session.state.value == "open":
            self.away.discard(shopper)
            self.deliver(group, {"group": group.id, "t": "group_member", "member": shopper}
                         | self.presence(group, shopper), None)

    # ------------------------------------------------------------------ websocket messages
    def _member(self, session: Session, action: str, request_id: Any) -> tuple[str, Group] | None:
        """The sender and their group, if they may do `action`; otherwise an error went out and None."""
        shopper = self.shopper_of(session)
        group = self.service.cached_group_of(shopper) if shopper else None
        if shopper is None or group is None:
            session.error("not_in_group", "you are not in a shopping group (join with an invite, docs/SOCIAL.md); "
                          "the seat must be joined with X-Shopper-Key", request_id)
            return None
        try:
            group.require(shopper, action)
        except SocialError as exc:
            session.error(exc.code, exc.message, request_id)
            return None
        return shopper, group

    def _take(self, session: Session, name: str, rate: float, burst: float, now: float, request_id: Any) -> bool:
        buckets = self.session_buckets.setdefault(id(session), {})
        bucket = buckets.get(name) or buckets.setdefault(name, _bucket(rate, burst, now))
        if bucket.take(now):
            return True
        session.error("rate_limited", f"too many '{name}' messages; slow down (docs/PROTOCOL.md section 12)",
                      request_id)
        return False

    def _chat_allowance(self, session: Session, shopper: str, now: float, request_id: Any) -> bool:
        bucket = self.chat_buckets.get(shopper)
        if bucket is None:
            if len(self.chat_buckets) > 10_000:
                self.chat_buckets.clear()
            bucket = self.chat_buckets[shopper] = _bucket(limits.get("chat_messages_per_min") / 60.0,
                                                          limits.get("chat_burst"), now)
        if bucket.take(now):
            return True
        session.error("rate_limited", f"at most {int(limits.get('chat_messages_per_min'))} chat messages a minute",
                      request_id)
        return False

    def _near_head(self, session: Session, points: np.ndarray) -> bool:
        head = session.room.head_of(session.avatar_id)
        return bool(np.all(np.linalg.norm(points - head, axis=1) <= limits.get("max_reach_m")))

    def chat(self, session: Session, text: str, request_id: Any, now: float) -> None:
        found = self._member(session, "chat", request_id)
        if found is None:
            return
        shopper, group = found
        clean = _UNSAFE.sub("", text).strip()
        if not clean:
            session.error("bad_request", "a chat message needs some text", request_id)
            return
        if not self._chat_allowance(session, shopper, now, request_id):
            return
        line = {"t": "chat", "group": group.id, "member": shopper, "name": group.members[shopper].name,
                "avatar": session.avatar_id, "text": clean, "at": self.hub.server_time_ms(now)}
        self.remember_chat(group.id, line)
        session.send({"t": "ok", "id": request_id})
        self.deliver(group, line, None)

    def remember_chat(self, group_id: str, line: dict[str, Any]) -> None:
        """Kept in memory only (docs/SOCIAL.md, Privacy), for members who join later."""
        history = self.history.setdefault(group_id, deque(maxlen=int(limits.get("chat_history_lines"))))
        history.append(line)

    def recent_chat(self, group_id: str, member: str, count: int = 5) -> list[dict[str, Any]]:
        """A reported member's last lines (the report's evidence)."""
        lines = [line for line in self.history.get(group_id, ()) if line["member"] == member]
        return [{"text": line["text"], "at": line["at"]} for line in lines[-count:]]

    def react(self, session: Session, emoji: str, request_id: Any, now: float) -> None:
        found = self._member(session, "chat", request_id)
        if found is None:
            return
        if emoji not in REACTIONS:
            session.error("bad_request", f"a reaction is one of {' '.join(REACTIONS)}", request_id)
            return
        shopper, group = found
        if not self._chat_allowance(session, shopper, now, request_id):
            return
        session.send({"t": "ok", "id": request_id})
        self.deliver(group, {"t": "reaction", "group": group.id, "member": shopper, "avatar": session.avatar_id,
                             "emoji": emoji}, None)

    def point(self, session: Session, product: str | None, origin: tuple, direction: tuple, request_id: Any,
              now: float) -> None:
        found = self._member(session, "point", request_id)
        if found is None or not self._take(session, "point", limits.get("points_per_s"),
                                           limits.get("points_per_s"), now, request_id):
            return
        shopper, group = found
        start, ray = np.asarray(origin, dtype=np.float64), np.asarray(direction, dtype=np.float64)
        length = float(np.linalg.norm(ray)) if np.isfinite(ray).all() else 0.0
        if not np.isfinite(start).all() or length < 1e-6:
            session.error("bad_request", "'from' and 'dir' must be finite and 'dir' not zero", request_id)
            return
        if not self._near_head(session, start[None, :]):
            session.error("out_of_reach", f"a ray starts within {limits.get('max_reach_m')} m of your head",
                          request_id)
            return
        session.send({"t": "ok", "id": request_id})
        self.deliver(group, {"t": "pointed", "group": group.id, "member": shopper, "avatar": session.avatar_id,
                             "product": product, "from": [round(float(v), 3) for v in start],
                             "dir": [round(float(v), 4) for v in ray / length]}, set(group.members) - {shopper})

    def show(self, session: Session, product: str, request_id: Any, now: float) -> None:
        found = self._member(session, "point", request_id)
        if found is None or not self._take(session, "point", limits.get("points_per_s"),
                                           limits.get("points_per_s"), now, request_id):
            return
        shopper, group = found
        session.send({"t": "ok", "id": request_id})
        self.deliver(group, {"t": "shown", "group": group.id, "member": shopper, "name": group.members[shopper].name,
                             "product": product}, set(group.members) - {shopper})

    def follow(self, session: Session, target: str | None, jump: bool, request_id: Any) -> None:
        found = self._member(session, "point", request_id)
        if found is None:
            return
        shopper, group = found
        if target is not None and (target not in group.members or target == shopper):
            session.error("not_a_member", "follow someone else in your group", request_id)
            return
        reply: dict[str, Any] = {"t": "ok", "id": request_id}
        if target is not None and jump:
            there = [s for s in self.sessions_of(target) if s.room_id == session.room_id]
            if not there:
                elsewhere = self.presence(group, target)["room"]
                session.error("member_elsewhere", f"they are not in this room (room {elsewhere!r}); join it first",
                              request_id)
                return
            spot = session.room.place_beside(session.avatar_id, there[0].avatar_id)
            if not isinstance(spot, tuple):
                session.error(spot.code, spot.message, request_id)
                return
            reply["to"] = list(spot)
        session.send(reply)
        self.deliver(group, {"t": "following", "group": group.id, "member": shopper, "target": target},
                     set(group.members) - {shopper})

    def set_presence(self, session: Session, away: bool, request_id: Any) -> None:
        found = self._member(session, "point", request_id)
        if found is None:
            return
        shopper, group = found
        (self.away.add if away else self.away.discard)(shopper)
        session.send({"t": "ok", "id": request_id})
        self.deliver(group, {"t": "group_member", "group": group.id, "member": shopper}
                     | self.presence(group, shopper), None)

    def voice(self, session: Session, on: bool, request_id: Any) -> None:
        found = self._member(session, "voice" if on else "point", request_id)
        if found is None:
            return
        shopper, group = found
        (self.voice_on.add if on else self.voice_on.discard)(shopper)
        session.send({"t": "ok", "id": request_id})
        self.deliver(group, {"t": "group_member", "group": group.id, "member": shopper, "voice": on}, None)

    def rtc(self, session: Session, to: str, kind: str, data: Any, request_id: Any, now: float) -> None:
        found = self._member(session, "point" if kind == "bye" else "voice", request_id)
        if found is None or not self._take(session, "rtc", limits.get("rtc_messages_per_s"), 60, now, request_id):
            return
        shopper, group = found
        if to not in group.members or to == shopper:
            session.error("not_a_member", "voice goes to another member of your group", request_id)
            return
        if len(msgpack.packb(data)) > limits.get("max_rtc_bytes"):
            session.error("too_large", f"signalling data is at most {int(limits.get('max_rtc_bytes'))} bytes",
                          request_id)
            return
        session.send({"t": "ok", "id": request_id})
        if shopper in self.service.blocks.get(to, ()):
            return  # they blocked you: say nothing, send nothing
        targets = self.sessions_of(to)
        preferred = [s for s in targets if s.room_id == group.room] or targets
        relayed = {"t": "rtc", "group": group.id, "from": shopper, "kind": kind, "data": data}
        if preferred:  # one connection answers an offer, not every tab
            preferred[-1].send(relayed)
        elif self.relay is not None:  # connected to another node
            self.relay(group, relayed, {to})

    def draw(self, session: Session, points: list, color: str, request_id: Any, now: float) -> None:
        found = self._member(session, "draw", request_id)
        if found is None or not self._take(session, "draw", limits.get("strokes_per_s"),
                                           2 * limits.get("strokes_per_s"), now, request_id):
            return
        shopper, group = found
        array = np.asarray(points, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] != 3 or not np.isfinite(array).all():
            session.error("bad_request", "'points' are [x, y, z] numbers", request_id)
            return
        if not self._near_head(session, array):
            session.error("out_of_reach", f"draw within {limits.get('max_reach_m')} m of your head", request_id)
            return
        self.stroke_seq += 1
        session.send({"t": "ok", "id": request_id, "stroke": self.stroke_seq})
        self.deliver(group, {"t": "stroke", "group": group.id, "id": self.stroke_seq, "member": shopper,
                             "avatar": session.avatar_id, "points": np.round(array, 3).tolist(), "color": color,
                             "ttl_s": int(limits.get("stroke_ttl_s"))}, None)
