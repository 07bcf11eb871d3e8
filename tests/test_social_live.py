"""Shopping together on the real server (docs/SOCIAL.md): two reference clients make a group by code, see each
other, chat, point, follow, signal voice, share a bag; moderation and permissions are enforced by the server."""

from __future__ import annotations

import asyncio

import numpy as np

from server import limits
from sim.shopper import Shopper

IDENTITY = [0.0, 0.0, 0.0, 1.0]


def stand(shopper: Shopper, dx: float = 0.0, dz: float = 0.0) -> None:
    sx, sy, sz = shopper.client.session.welcome["spawn"]
    shopper.client.send_pose({0: np.array([sx + dx, sy + 1.6, sz + dz, *IDENTITY])})


def head(shopper: Shopper) -> list[float]:
    sx, sy, sz = shopper.client.session.welcome["spawn"]
    return [sx, sy + 1.6, sz]


async def pair(server) -> tuple[Shopper, Shopper, dict]:
    """Ann makes a group in the main room; Ben accepts her code; both are connected there."""
    ann, ben = await Shopper.make(server.url, "Ann"), await Shopper.make(server.url, "Ben")
    await ann.enter()
    status, group = await ann.http("POST", "/api/groups", {"room": "main"})
    assert status == 201, group
    assert len(group["code"]) == 6 and group["link"] == f"/?join={group['code']}"
    status, preview = await ben.http("GET", f"/api/invites/{group['code'].lower()}", auth=False)
    assert status == 200 and preview["owner_name"] == "Ann" and preview["room"] == "main"
    status, joined = await ben.http("POST", f"/api/invites/{group['code']}/accept")
    assert status == 200 and [m["name"] for m in joined["members"]] == ["Ann", "Ben"]
    await ben.enter(joined["room"])
    await ann.until(lambda m: m["t"] == "group_member" and m["member"] == ben.id and m.get("presence") == "here")
    return ann, ben, joined


async def test_two_friends_join_by_code_chat_point_and_follow(live_server):
    ann, ben, group = await pair(live_server)
    try:
        # Members get each other at the full rate: the server pins them for each other.
        await ann.until(lambda m: m["t"] == "group" and any(x["member"] == ben.id and x["presence"] == "here"
                                                            for x in m["members"]))
        sessions = live_server.hub.sessions
        assert sessions[("main", ann.avatar)].sync.group_pinned == {ben.avatar}
        assert sessions[("main", ben.avatar)].sync.group_pinned == {ann.avatar}

        assert (await ben.ask({"t": "chat", "text": "this jacket suits you"}))["t"] == "ok"
        line = await ann.until(lambda m: m["t"] == "chat")
        assert (line["name"], line["text"], line["member"], line["avatar"]) == (
            "Ben", "this jacket suits you", ben.id, ben.avatar)
        await ben.until(lambda m: m["t"] == "chat")  # the sender sees their own line as the group does
        assert (await ann.ask({"t": "chat", "text": "thanks \u202eevil"}))["t"] == "ok"
        assert (await ben.until(lambda m: m["t"] == "chat" and m["member"] == ann.id))["text"] == "thanks evil"

        stand(ben)
        await asyncio.sleep(0.1)
        reply = await ben.ask({"t": "point", "product": "tv-55", "from": head(ben), "dir": [0, 0, -2]})
        assert reply["t"] == "ok"
        pointed = await ann.until(lambda m: m["t"] == "pointed")
        assert pointed["product"] == "tv-55" and pointed["dir"] == [0, 0, -1] and pointed["avatar"] == ben.avatar
        far = [head(ben)[0] + 10, head(ben)[1], head(ben)[2]]
        assert (await ben.ask({"t": "point", "product": "tv-55", "from": far, "dir": [0, 0, 1]}))["code"] == \
            "out_of_reach"

        assert (await ben.ask({"t": "show", "product": "tv-55"}))["t"] == "ok"
        assert (await ann.until(lambda m: m["t"] == "shown"))["name"] == "Ben"
        assert (await ann.ask({"t": "react", "emoji": "🔥"}))["t"] == "ok"
        assert (await ben.until(lambda m: m["t"] == "reaction"))["emoji"] == "🔥"
        assert (await ann.ask({"t": "react", "emoji": "💩"}))["code"] == "bad_request"

        stand(ann, dx=0.0)
        await asyncio.sleep(0.1)
        jump = await ben.ask({"t": "follow", "member": ann.id, "jump": True})
        assert jump["t"] == "ok", jump
        assert np.hypot(jump["to"][0] - head(ann)[0], jump["to"][2] - head(ann)[2]) <= 1.7
        assert (await ann.until(lambda m: m["t"] == "following"))["target"] == ann.id
        assert (await ben.ask({"t": "follow", "member": "s_nobody"}))["code"] == "not_a_member"

        # Voice signalling goes to one member only, as the sender gave it.
        offer = {"type": "offer", "sdp": "v=0 fake"}
        assert (await ann.ask({"t": "rtc", "to": ben.id, "kind": "offer", "data": offer}))["t"] == "ok"
        relayed = await ben.until(lambda m: m["t"] == "rtc")
        assert relayed == {"t": "rtc", "group": group["id"], "from": ann.id, "kind": "offer", "data": offer}
        big = {"sdp": "x" * (int(limits.get("max_rtc_bytes")) + 10)}
        assert (await ann.ask({"t": "rtc", "to": ben.id, "kind": "offer", "data": big}))["code"] == "too_large"
        assert (await ann.ask({"t": "voice", "on": True}))["t"] == "ok"
        await ben.until(lambda m: m["t"] == "group_member" and m["member"] == ann.id and m.get("voice") is True)

        # A mark drawn in the air reaches everyone.
        stroke = [[head(ann)[0] + 0.3, head(ann)[1] - 0.3, head(ann)[2] - 0.4],
                  [head(ann)[0] + 0.5, head(ann)[1] - 0.2, head(ann)[2] - 0.4]]
        drawn = await ann.ask({"t": "draw", "points": stroke, "color": "#ff0066"})
        assert drawn["t"] == "ok", drawn
        mark = await ben.until(lambda m: m["t"] == "stroke")
        assert mark["id"] == drawn["stroke"] and mark["color"] == "#ff0066" and len(mark["points"]) == 2

        # A page that goes away leaves its friend "away" at once, and back "here" on resume.
        mark = len(ann.log)
        ben.client.drop()
        await ann.until(lambda m: m["t"] == "group_member" and m["member"] == ben.id and m.get("presence") == "away",
                        since=mark)
        mark = len(ann.log)
        await ben.client.resume()
        await ann.until(lambda m: m["t"] == "group_member" and m["member"] == ben.id and m.get("presence") == "here",
                        since=mark)
    finally:
        await ann.close()
        await ben.close()


async def test_chat_is_rate_limited_and_outsiders_get_not_in_group(live_server):
    ann, ben, _ = await pair(live_server)
    outsider = await Shopper.make(live_server.url, "Cy")
    await outsider.enter()
    try:
        assert (await outsider.ask({"t": "chat", "text": "hi"}))["code"] == "not_in_group"
        # Asking for one's group is no error when there is none: every page load asks.
        assert await outsider.http("GET", "/api/groups/mine") == (204, None)
        status, mine = await ann.http("GET", "/api/groups/mine")
        assert status == 200 and {m["name"] for m in mine["members"]} == {"Ann", "Ben"}
        replies = [await ann.ask({"t": "chat", "text": f"line {i}"}) for i in range(int(limits.get("chat_burst")) + 3)]
        assert [r["t"] for r in replies].count("ok") == int(limits.get("chat_burst"))
        assert replies[-1]["code"] == "rate_limited"
        await outsider.drain(0.3)
        assert not outsider.got("chat"), "a shopper outside the group heard its chat"
        assert (await ann.ask({"t": "chat", "text": "x" * (int(limits.get("max_chat_chars")) + 1)}))["code"] == \
            "bad_request"
    finally:
        for s in (ann, ben, outsider):
            await s.close()


async def test_moderation_is_the_owners_and_is_enforced(live_server):
    ann, ben, group = await pair(live_server)
    gid = group["id"]
    try:
        # A member tries what only the owner may.
        status, problem = await ben.http("POST", f"/api/groups/{gid}/members/{ann.id}/mute", {"muted": True})
        assert (status, problem["code"]) == (403, "not_allowed")
        status, problem = await ben.http("POST", f"/api/groups/{gid}/members/{ann.id}/remove")
        assert (status, problem["code"]) == (403, "not_allowed")

        status, _ = await ann.http("POST", f"/api/groups/{gid}/members/{ben.id}/mute", {"muted": True})
        assert status == 200
        await ben.until(lambda m: m["t"] == "group_member" and m["member"] == ben.id and m.get("muted") is True)
        assert (await ben.ask({"t": "chat", "text": "hello?"}))["code"] == "muted"
        assert (await ben.ask({"t": "rtc", "to": ann.id, "kind": "offer", "data": "sdp"}))["code"] == "muted"
        assert (await ben.ask({"t": "rtc", "to": ann.id, "kind": "bye"}))["t"] == "ok"  # hanging up stays allowed
        status, _ = await ann.http("POST", f"/api/groups/{gid}/members/{ben.id}/mute", {"muted": False})
        assert (await ben.ask({"t": "chat", "text": "back"}))["t"] == "ok"

        # A report keeps the reported member's last lines for the store owner.
        status, filed = await ann.http("POST", f"/api/groups/{gid}/reports", {"member": ben.id, "reason": "spam",
                                                                              "text": "keeps shouting"})
        assert status == 201
        status, reports = await ann.http("GET", "/api/reports?store=boutique",
                                         operator=live_server.settings.operator_token)
        assert status == 200 and reports[0]["id"] == filed["report"]
        assert reports[0]["recent_chat"][-1]["text"] == "back"
        status, _ = await ann.http("GET", "/api/reports?store=boutique")
        assert status == 401

        # Removed: out at once, and no code lets them back in.
        status, _ = await ann.http("POST", f"/api/groups/{gid}/members/{ben.id}/remove")
        assert status == 200
        await ben.until(lambda m: m["t"] == "group_removed")
        await ann.until(lambda m: m["t"] == "group_member" and m["member"] == ben.id and m.get("left") == "removed")
        assert live_server.hub.sessions[("main", ann.avatar)].sync.group_pinned == frozenset()
        status, invite = await ann.http("POST", f"/api/groups/{gid}/invites", {"uses": 5})
        assert status == 201
        status, problem = await ben.http("POST", f"/api/invites/{invite['code']}/accept")
        assert (status, problem["code"]) == (403, "removed_from_group")
        assert (await ben.ask({"t": "chat", "text": "let me in"}))["code"] == "not_in_group"
    finally:
        await ann.close()
        await ben.close()


async def test_a_block_stops_what_the_blocked_shopper_sends(live_server):
    ann, ben, _ = await pair(live_server)
    try:
        status, blocked = await ann.http("POST", f"/api/blocks/{ben.id}")
        assert status == 200 and blocked == {"blocked": [ben.id]}
        assert (await ben.ask({"t": "chat", "text": "can you hear me"}))["t"] == "ok"
        assert (await ben.ask({"t": "rtc", "to": ann.id, "kind": "offer", "data": "sdp"}))["t"] == "ok"
        await ben.until(lambda m: m["t"] == "chat")  # delivered to the rest of the group (here: Ben himself)
        await ann.drain(0.3)
        assert not ann.got("chat", member=ben.id) and not ann.got("rtc")
        await ann.http("DELETE", f"/api/blocks/{ben.id}")
        await ben.ask({"t": "chat", "text": "now?"})
        await ann.until(lambda m: m["t"] == "chat" and m["text"] == "now?")
    finally:
        await ann.close()
        await ben.close()


async def test_invites_expire_run_out_and_resist_guessing(live_server):
    ann = await Shopper.make(live_server.url, "Ann")
    await ann.enter()
    status, group = await ann.http("POST", "/api/groups", {"room": "main"})
    status, one = await ann.http("POST", f"/api/groups/{group['id']}/invites", {"uses": 1, "ttl_s": 60})
    assert status == 201
    first, second = await Shopper.make(live_server.url, "Bo"), await Shopper.make(live_server.url, "Di")
    assert (await first.http("POST", f"/api/invites/{one['code']}/accept"))[0] == 200
    status, problem = await second.http("POST", f"/api/invites/{one['code']}/accept")
    assert (status, problem["code"]) == (410, "invite_used_up")
    assert (await second.http("GET", "/api/invites/ZZZZZZ", auth=False))[1]["code"] == "invite_unknown"
    statuses = [(await second.http("GET", f"/api/invites/AAAA{i:02d}", auth=False))[0] for i in range(25)]
    assert 429 in statuses  # guessing is limited per address
    await ann.close()


def _get_text(url: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


async def test_the_invite_qr_code_holds_the_link(live_server):
    ann = await Shopper.make(live_server.url, "Ann")
    status, group = await ann.http("POST", "/api/groups", {"room": "main"})
    status, svg = await asyncio.to_thread(_get_text, f"{live_server.url}/api/invites/{group['code']}/qr.svg")
    assert status == 200 and svg.startswith("<svg") and "path" in svg
    import segno  # a dependency: its absence is an install failure, not a reason to skip
    expected = segno.make(f"{live_server.url}/?join={group['code']}", error="m")
    assert expected.symbol_size(scale=6, border=2)[0] == int(svg.split('width="')[1].split('"')[0])


async def test_an_advisor_answers_a_call_and_draws_a_mark(live_server):
    ann, ben, group = await pair(live_server)
    gid = group["id"]
    staff = None
    try:
        status, made = await ann.http("POST", "/api/staff", {"name": "Eve", "store": "boutique"}, auth=False,
                                      operator=live_server.settings.operator_token)
        assert status == 201
        staff = await Shopper.make(live_server.url, "Eve", key=made["shopper_key"])
        await staff.enter()
        assert (await ben.http("GET", "/api/advisor/calls"))[1]["code"] == "not_staff"
        assert (await ann.http("POST", f"/api/groups/{gid}/advisor"))[0] == 200
        call = await staff.until(lambda m: m["t"] == "advisor_call")
        assert call["group"] == gid and call["by"] == "Ann"
        status, calls = await staff.http("GET", "/api/advisor/calls")
        assert [c["group"] for c in calls] == [gid]
        status, view = await staff.http("POST", f"/api/advisor/calls/{gid}/accept")
        assert status == 200 and any(m["role"] == "advisor" and m["name"] == "Eve" for m in view["members"])
        assert view["invites"] == []  # an advisor does not hand out the group's codes
        await ann.until(lambda m: m["t"] == "group_member" and m["member"] == staff.id and m.get("joined"))
        # The advisor sees the bag but cannot change it.
        assert (await staff.http("GET", f"/api/groups/{gid}/bag"))[0] == 200
        status, problem = await staff.http("POST", f"/api/groups/{gid}/bag/lines",
                                           {"product_id": "tv-55", "variant_id": "x"})
        assert (status, problem["code"]) == (403, "not_allowed")
        stand(staff)
        await asyncio.sleep(0.1)
        here = head(staff)
        drawn = await staff.ask({"t": "draw", "points": [[here[0], here[1], here[2] - 0.5],
                                                         [here[0] + 0.2, here[1], here[2] - 0.5]]})
        assert drawn["t"] == "ok", drawn
        assert (await ann.until(lambda m: m["t"] == "stroke"))["member"] == staff.id
        assert (await ben.until(lambda m: m["t"] == "stroke"))["member"] == staff.id
    finally:
        for s in (ann, ben, staff):
            if s is not None:
                await s.close()


async def test_a_member_who_reconnects_after_a_restart_keeps_the_group(tmp_path):
    from server.config import Settings
    from tests.conftest import LiveServer, free_port

    port = free_port()
    settings = Settings(port=port, data_dir=str(tmp_path), allowed_origins=(f"http://127.0.0.1:{port}",),
                        operator_token="op")
    server = LiveServer(settings)
    await server.start()
    ann = await Shopper.make(server.url, "Ann")
    status, group = await ann.http("POST", "/api/groups", {"room": "main"})
    await server.stop()
    server = LiveServer(Settings(port=port, data_dir=str(tmp_path), allowed_origins=settings.allowed_origins,
                                 operator_token="op", secret=settings.secret))
    await server.start()
    try:
        status, mine = await ann.http("GET", "/api/groups/mine")
        assert status == 200 and mine["id"] == group["id"] and mine["members"][0]["role"] == "owner"
        await ann.enter()
        assert (await ann.ask({"t": "chat", "text": "still here"}))["t"] == "ok"
        await ann.close()
    finally:
        await server.stop()


async def test_the_shared_bag_over_http_reaches_every_member_and_one_pays_for_all(live_server):
    ann, ben, group = await pair(live_server)
    gid = group["id"]
    try:
        status, bag = await ben.http("POST", f"/api/groups/{gid}/bag/lines",
                                     {"product_id": "digital-aurora-jacket", "variant_id": "aurora"})
        assert status == 200 and bag["lines"][0]["added_by_name"] == "Ben"
        told = await ann.until(lambda m: m["t"] == "group_bag")
        assert told["by"] == ben.id and told["bag"]["lines"][0]["added_by"] == ben.id
        status, bag = await ann.http("POST", f"/api/groups/{gid}/bag/lines",
                                     {"product_id": "digital-aurora-jacket", "variant_id": "aurora", "quantity": 2})
        assert [(li["added_by_name"], li["quantity"]) for li in bag["lines"]] == [("Ben", 1), ("Ann", 2)]
        await ben.until(lambda m: m["t"] == "group_bag" and m["by"] == ann.id)
        outsider = await Shopper.make(live_server.url, "Cy")
        assert (await outsider.http("GET", f"/api/groups/{gid}/bag"))[1]["code"] == "not_a_member"

        status, checkout = await ann.http("POST", "/api/checkouts", {"payment_method": "test_approve",
                                                                     "group": gid, "part": "all"})
        assert status == 201 and checkout["total_minor"] == 3 * 1500 and checkout["group_bag"] == gid
        status, problem = await ben.http("POST", "/api/checkouts", {"payment_method": "test_approve", "group": gid,
                                                                    "part": "mine"})
        assert (status, problem["code"]) == (409, "lines_in_checkout")
        assert (await ann.http("POST", f"/api/checkouts/{checkout['id']}/hold", {"action": "start"}))[0] == 200
        await asyncio.sleep(1.05)
        status, done = await ann.http("POST", f"/api/checkouts/{checkout['id']}/hold", {"action": "end"})
        assert status == 200 and done["state"] == "placed", done
        emptied = await ben.until(lambda m: m["t"] == "group_bag" and not m["bag"]["lines"])
        assert emptied["by"] == ann.id
        status, orders = await ann.http("GET", "/api/orders")
        assert [o["id"] for o in orders] == [checkout["id"]]
        assert (await ben.http("GET", "/api/orders"))[1] == []  # Ben's orders are his, and he has none
    finally:
        await ann.close()
        await ben.close()


async def test_the_assistant_leading_a_member_is_shown_to_the_group(live_server):
    ann, ben, group = await pair(live_server)
    try:
        mark = len(ben.log)
        status, answer = await ann.http("POST", "/api/assistant/ask", {
            "store": "boutique", "question": "what is the perfume eau fleurie made of?", "from": [0.0, 4.6],
            "guide": True})
        assert status == 200 and answer["intent"] == "materials" and answer["route"], answer
        guide = await ben.until(lambda m: m["t"] == "guide", since=mark)
        assert (guide["member"], guide["name"], guide["product"], guide["group"]) == (
            ann.id, "Ann", "perfume-eau-fleurie", group["id"])
        assert guide["route"] == answer["route"] and guide["speed"] == answer["speed"] > 0
        # A wrong key is refused in words (the question is not answered as someone else).
        key, ann.key = ann.key, f"{ann.id}.wrong"
        status, problem = await ann.http("POST", "/api/assistant/ask", {"store": "boutique", "question": "hi"})
        ann.key = key
        assert (status, problem["code"]) == (401, "shopper_unknown"), problem
        # Without `guide` a question that is not "where" gets no route, and nobody is told.
        mark = len(ben.log)
        status, answer = await ann.http("POST", "/api/assistant/ask", {
            "store": "boutique", "question": "what is the perfume eau fleurie made of?", "from": [0.0, 4.6]})
        assert status == 200 and answer["route"] is None
        # Ben's block of Ann drops her guide on its way to him, like her chat.
        assert (await ben.http("POST", f"/api/blocks/{ann.id}"))[0] == 200
        status, answer = await ann.http("POST", "/api/assistant/ask", {
            "store": "boutique", "question": "where is the perfume eau fleurie?", "from": [0.0, 4.6]})
        assert status == 200 and answer["route"]
        assert (await ann.ask({"t": "chat", "text": "after the block"}))["t"] == "ok"
        await ann.until(lambda m: m["t"] == "chat" and m["text"] == "after the block")
        await asyncio.sleep(0.2)
        assert not [m for m in ben.log[mark:] if m["t"] in ("guide", "chat")]
    finally:
        await ann.close()
        await ben.close()
