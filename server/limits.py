"""The one limits table. Code enforces these values, errors quote them, docs/PROTOCOL.md lists them
(tests check the doc against this table), and the welcome message sends the client-facing ones.

Each limit has a value, a unit and one sentence saying what it bounds. The values suit a public store; a load
test from one address presents the operator token, which lifts the per-address seat and room limits only
(`OPERATOR_EXEMPT`). `python -m server.limits` rewrites the table in docs/PROTOCOL.md.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Limit:
    name: str
    value: float
    unit: str
    what: str

    def __int__(self) -> int:
        return int(self.value)


_TABLE: tuple[Limit, ...] = (
    # --- rooms and seats (HTTP)
    Limit("rooms_total", 200, "rooms", "live rooms in one server process; creating more answers 503"),
    Limit("rooms_per_address", 5, "rooms", "live rooms created by one client address"),
    Limit("room_creations_per_address_per_min", 10, "per minute", "room creations by one address"),
    Limit("max_room_size", 2000, "avatars", "seats in one room (its `capacity`)"),
    Limit("joins_per_address_per_s", 2, "per second", "seat reservations by one address, sustained"),
    Limit("join_burst_per_address", 10, "reservations", "seat reservations by one address in a burst"),
    Limit("pending_seats_per_address", 4, "seats", "reserved but not yet connected seats held by one address"),
    Limit("seats_per_address_per_room", 16, "seats", "seats one address may hold in one room"),
    Limit("join_token_ttl_s", 30, "seconds", "a join token (and its unconnected reservation) lives this long"),
    Limit("resume_token_ttl_s", 24 * 3600, "seconds", "a resume token's lifetime; it dies earlier with its seat"),
    Limit("resume_grace_s", 20, "seconds", "a dropped seat is kept this long for its resume token"),
    Limit("mocap_idle_release_s", 300, "seconds", "a mocap seat with no data this long is released"),
    # --- websocket
    Limit("max_message_bytes", 16 * 1024, "bytes", "one websocket message; larger closes with 1009"),
    Limit("auth_timeout_s", 5, "seconds", "time from websocket accept to the `auth` message"),
    Limit("pose_uploads_per_s", 120, "per second", "pose uploads and acks per connection"),
    Limit("control_messages_per_s", 30, "per second", "control messages per connection"),
    Limit("max_pinned", 64, "avatars", "avatars one client may pin to the full rate"),
    Limit("max_behind_s", 2, "seconds", "age of the oldest unsent snapshot before 4008"),
    Limit("socket_send_buffer_bytes", 64 * 1024, "bytes", "kernel send buffer per websocket (so lag shows)"),
    # --- HTTP transport
    Limit("max_body_bytes", 1024 * 1024, "bytes", "one HTTP request body; larger answers 413"),
    Limit("header_timeout_s", 10, "seconds", "time to send a complete request head"),
    Limit("body_timeout_s", 60, "seconds", "time to send a request body of known length, after its head"),
    Limit("storage_timeout_s", 2, "seconds", "a Redis request (or connection attempt) unanswered this long fails: "
          "HTTP answers 503 `storage_unavailable`, the room runs on"),
    Limit("pending_connections_per_address", 64, "connections",
          "HTTP connections from one address that are not (yet) websockets"),
    # --- profiles and mocap
    Limit("profiles_per_address_per_min", 10, "per minute", "sizing profiles created by one address"),
    Limit("mocap_sources_total", 64, "sources", "mocap sources on one server"),
    Limit("vmc_messages_per_datagram", 128, "messages", "OSC messages handled from one VMC datagram"),
    Limit("vmc_datagrams_per_source_per_s", 240, "per second", "VMC datagrams handled per source"),
    # --- buying
    Limit("shoppers_per_address_per_min", 10, "per minute", "shopper identities created by one address"),
    Limit("max_bag_lines", 20, "lines", "different items in one bag"),
    Limit("max_line_quantity", 10, "units", "units of one item in a bag line"),
    Limit("idempotency_key_ttl_s", 24 * 3600, "seconds", "a state-changing request's key and first answer are kept"),
    Limit("max_idempotency_key_chars", 200, "characters", "an Idempotency-Key header"),
    # --- shopping together (docs/SOCIAL.md)
    Limit("max_group_members", 8, "people", "members of one shopping group, advisors included (voice is peer to peer)"),
    Limit("max_invite_uses", 20, "people", "people one invite code admits"),
    Limit("max_invite_ttl_s", 24 * 3600, "seconds", "an invite code's lifetime"),
    Limit("invite_tries_per_address_per_min", 20, "per minute", "invite codes looked up or used by one address"),
    Limit("group_idle_ttl_s", 24 * 3600, "seconds", "a group nobody changed this long ends"),
    Limit("max_chat_chars", 500, "characters", "one chat message"),
    Limit("chat_messages_per_min", 30, "per minute", "chat messages and reactions by one shopper, sustained"),
    Limit("chat_burst", 8, "messages", "chat messages and reactions by one shopper in a burst"),
    Limit("chat_history_lines", 50, "lines", "chat lines a group keeps (in memory) for members who join later"),
    Limit("points_per_s", 10, "per second", "pointing updates (`point`, `show`) by one connection"),
    Limit("strokes_per_s", 4, "per second", "marks drawn in the air (`draw`) by one connection"),
    Limit("max_stroke_points", 64, "points", "points in one drawn mark"),
    Limit("stroke_ttl_s", 20, "seconds", "how long members show a drawn mark"),
    Limit("max_reach_m", 2.5, "metres", "a pointing ray starts, and a mark is drawn, this close to your head"),
    Limit("rtc_messages_per_s", 20, "per second", "voice signalling messages by one connection (burst 60)"),
    Limit("max_rtc_bytes", 8 * 1024, "bytes", "one voice signalling message's `data`, encoded"),
    Limit("max_report_chars", 500, "characters", "a report's text"),
    Limit("reports_per_shopper_per_hour", 10, "per hour", "reports filed by one shopper"),
    Limit("max_question_chars", 300, "characters", "one question to the store assistant"),
    Limit("assistant_questions_per_address_per_min", 30, "per minute", "questions to the assistant from one address"),
    # --- names
    Limit("max_name_chars", 32, "characters", "a display name"),
)

TABLE: dict[str, Limit] = {limit.name: limit for limit in _TABLE}

# Limits that a request presenting the operator token (Authorization: Bearer ...) is not held to: a load
# test from one address legitimately holds a thousand seats.
OPERATOR_EXEMPT = frozenset({
    "joins_per_address_per_s", "join_burst_per_address", "pending_seats_per_address",
    "seats_per_address_per_room", "rooms_per_address", "room_creations_per_address_per_min",
    "shoppers_per_address_per_min",
})

# The subset the websocket welcome message sends to the client (`limits`).
CLIENT_FACING = ("max_message_bytes", "pose_uploads_per_s", "control_messages_per_s", "max_pinned",
                 "resume_grace_s", "max_behind_s", "max_name_chars")


def get(name: str) -> float:
    return TABLE[name].value


def welcome_limits() -> dict[str, int]:
    return {name: int(TABLE[name].value) for name in CLIENT_FACING}


def markdown_table() -> str:
    """The table as it appears in docs/PROTOCOL.md ("Limits")."""
    rows = ["| limit | value | unit | what it bounds |", "| --- | --- | --- | --- |"]
    for limit in _TABLE:
        value = int(limit.value) if float(limit.value).is_integer() else limit.value
        rows.append(f"| `{limit.name}` | {value} | {limit.unit} | {limit.what} |")
    return "\n".join(rows)


DOC = Path(__file__).resolve().parents[1] / "docs" / "PROTOCOL.md"
_MARKERS = re.compile(r"(<!-- BEGIN LIMITS \(server/limits.py\) -->\n).*?(<!-- END LIMITS -->)", re.S)


def doc_with_table(text: str) -> str:
    return _MARKERS.sub(lambda m: m.group(1) + markdown_table() + "\n" + m.group(2), text)


if __name__ == "__main__":
    DOC.write_text(doc_with_table(DOC.read_text()))
    sys.exit(0)
