"""The typed message table: it writes the protocol doc's list, and each type's schema and handler hold."""

from __future__ import annotations

import asyncio

import msgpack

from server.net import messages
from tests.test_ws_integration import join


def test_the_protocol_doc_lists_the_client_messages_as_the_table_has_them():
    text = messages.DOC.read_text()
    assert messages.doc_with_table(text) == text, "run: .venv/bin/python -m server.net.messages"
    for name, entry in messages.TABLE.items():
        assert f"`{name}`" in text and issubclass(entry.schema, messages.Message)


def test_schemas_refuse_wrong_types_and_ranges_with_the_field_named():
    cases = [("ack", {"t": "ack", "tick": "7"}, "tick"), ("ack", {"t": "ack", "tick": True}, "tick"),
             ("pin", {"t": "pin", "avatars": [1, "2"]}, "avatars"), ("teleport", {"t": "teleport", "to": [1, 2]}, "to"),
             ("profile", {"t": "profile", "height": 3.1}, "height"),
             ("hold", {"t": "hold", "product": "<x>"}, "product"),
             ("ping", {"t": "ping", "id": {"nested": 1}}, "id")]
    for kind, raw, field in cases:
        try:
            messages.parse(messages.TABLE[kind], raw)
        except messages.BadMessage as exc:
            assert f"'{field}" in str(exc), (kind, str(exc))
        else:
            raise AssertionError(f"{raw} was accepted")
    assert messages.parse(messages.TABLE["profile"], {"t": "profile", "height": 1, "extra": 1}).height == 1


async def next_control(client, kind: str, timeout: float = 5.0) -> dict:
    async def wait() -> dict:
        while True:
            event, value = await client.next_event()
            if event == "control" and value.get("t") == kind:
                return value
    return await asyncio.wait_for(wait(), timeout)


async def test_height_and_held_product_reach_the_others_and_the_roster(live_server):
    tall, friend = await join(live_server, "tall"), await join(live_server, "friend")
    assert (await tall.request({"t": "profile", "height": 1.9}))["t"] == "ok"
    assert await next_control(friend, "profile") == {"t": "profile", "avatar": tall.session.avatar_id, "height": 1.9}
    assert (await tall.request({"t": "hold", "product": "denim-jacket"}))["t"] == "ok"
    held = await next_control(friend, "held")
    assert held == {"t": "held", "avatar": tall.session.avatar_id, "product": "denim-jacket"}
    late = await join(live_server, "late")
    entry = next(a for a in late.session.welcome["roster"] if a["id"] == tall.session.avatar_id)
    assert entry["height"] == 1.9 and entry["held"] == "denim-jacket"
    bad = await tall.request({"t": "profile", "height": 0.2})
    assert bad["t"] == "error" and bad["code"] == "bad_request" and "height" in bad["msg"]
    again = await tall.request({"t": "auth", "token": "x"})
    assert again["code"] == "bad_request"
    raw = msgpack.packb({"t": "teleport", "to": [float("nan"), 0, 0], "id": 9})
    tall.ws.send(raw)
    reply = await next_control(tall, "error")
    assert reply["code"] == "teleport_invalid" and reply["id"] == 9
    for client in (tall, friend, late):
        await client.close()


async def test_a_rename_changes_the_name_in_place_for_everyone_and_refuses_a_spoof(live_server):
    shopper, friend = await join(live_server, "Ann"), await join(live_server, "friend")
    me = shopper.session.avatar_id
    reply = await shopper.request({"t": "rename", "name": "  Ann   Lee "})
    assert reply["t"] == "ok" and reply["name"] == "Ann Lee"  # cleaned as a join cleans it
    assert await next_control(friend, "renamed") == {"t": "renamed", "avatar": me, "name": "Ann Lee"}
    # The same seat: no left or joined went out, and a latecomer's roster has the new name under the same id
    late = await join(live_server, "late")
    assert {a["id"]: a["name"] for a in late.session.welcome["roster"]}[me] == "Ann Lee"
    seen = [m.get("t") for m in await drain(friend)]
    assert "left" not in seen and seen.count("joined") == 1, seen  # the latecomer's joined, nothing for Ann
    # A name with a bidi override (to look like someone else) is refused with the rule, the old name stays
    bad = await shopper.request({"t": "rename", "name": "Ann\u202eeL"})
    assert bad["t"] == "error" and bad["code"] == "bad_request" and "name" in bad["msg"]
    for empty in ("   ", 7, "x" * 200):
        assert (await shopper.request({"t": "rename", "name": empty}))["code"] == "bad_request"
    latest = await join(live_server, "latest")
    assert {a["id"]: a["name"] for a in latest.session.welcome["roster"]}[me] == "Ann Lee"
    for client in (shopper, friend, late, latest):
        await client.close()


async def drain(client, seconds: float = 0.3) -> list[dict]:
    """The control messages that arrive within `seconds` (snapshots keep coming, so the window is wall time)."""
    got: list[dict] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        try:
            event, value = await asyncio.wait_for(client.next_event(), left)
        except TimeoutError:
            break
        if event == "control":
            got.append(value)
    return got
