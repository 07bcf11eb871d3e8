"""The consented personal trail (server/analytics/trail.py, docs/OPERATIONS.md): without consent nothing of a
shopper's own is kept; with it, what the server saw them look at and pick up goes into their trail, which feeds
their "For you"; turning consent off or erasing deletes it. Both storage backends; one live-server test."""

from __future__ import annotations

import asyncio

import numpy as np

from server.analytics.collector import Collector
from server.analytics.trail import MAX_EVENTS, TRAIL_S, Trails
from server.realtime.pose import HEAD
from sim.shopper import Shopper
from tests.storage_backends import storage  # noqa: F401  (the fixture)
from tests.test_analytics import PRODUCTS, _seat


async def test_only_a_consenting_shopper_has_a_trail_and_consent_off_erases_it(storage) -> None:  # noqa: F811
    now = [1796212800.0]
    collector = Collector(storage, lambda store: PRODUCTS, wall_clock=lambda: now[0])
    await collector.prepare()
    trails = Trails(storage, clock=lambda: now[0])
    collector.personal.append(trails.note)
    assert (await trails.set_consent("s_yes", True))["consent"] is True
    # Both stand facing the perfume (at 0, 2; the head looks down -Z from z 4) and hold it within reach.
    for _ in range(3):
        collector.sample([_seat("s_yes", (0.0, 4.0)), _seat("s_no", (0.1, 4.0))], 0.5)
    for who in ("s_yes", "s_no"):
        assert collector.held(_seat(who, (0.0, 3.0)), "perfume")
    collector.event("s_yes", "coat", "in_bag", store="boutique")
    await trails.flush()
    assert sorted(await trails.events("s_yes")) == [("coat", "in_bag"), ("perfume", "picked_up"), ("perfume", "seen")]
    assert await trails.events("s_no") == [] and await storage.get("trail", "s_no") is None
    assert (await trails.view("s_no"))["consent"] is False
    # Events older than the kept days fall out; the newest MAX_EVENTS stay.
    now[0] += TRAIL_S + 1
    trails.note("s_yes", "coat", "tried_on")
    await trails.flush()
    assert await trails.events("s_yes") == [("coat", "tried_on")]
    for i in range(MAX_EVENTS + 20):
        now[0] += 1
        trails.note("s_yes", f"p{i}", "seen")
    await trails.flush()
    kept = await trails.events("s_yes")
    assert len(kept) == MAX_EVENTS and kept[-1] == (f"p{MAX_EVENTS + 19}", "seen")
    # No longer agreeing deletes the trail at once; later observations are not kept.
    assert (await trails.set_consent("s_yes", False))["events"] == []
    assert await storage.get("trail", "s_yes") is None
    trails.note("s_yes", "coat", "seen")
    await trails.flush()
    assert await storage.get("trail", "s_yes") is None


async def test_a_consenting_shopper_gets_for_you_from_what_they_looked_at(live_server) -> None:
    ana = await Shopper.make(live_server.url, "Ana")
    try:
        status, before = await ana.http("GET", "/api/recommendations?store=boutique")
        assert status == 200 and before["basis"] == "popular here"
        status, trail = await ana.http("PUT", "/api/me/trail", {"consent": True})
        assert status == 200 and trail["consent"] is True and trail["kept_days"] == 30, trail
        assert (await ana.http("PUT", "/api/me/trail", {"consent": "yes"}))[0] == 422
        await ana.enter()
        # She stands at the perfume counter facing it (perfume at x -0.17, z 2.0) and picks the perfume up.
        for _ in range(40):
            ana.client.send_pose({HEAD: np.array([0.1, 1.6, 4.1, 0.0, 0.0, 0.0, 1.0])})
            await asyncio.sleep(1 / 30)
        assert (await ana.ask({"t": "hold", "product": "perfume-eau-fleurie"}))["t"] == "ok"
        await asyncio.sleep(0.7)
        status, mine = await ana.http("GET", "/api/recommendations?store=boutique")
        assert status == 200 and mine["basis"] == "your choices", mine
        status, trail = await ana.http("GET", "/api/me/trail")
        stages = {(e["product"], e["stage"]) for e in trail["events"]}
        assert ("perfume-eau-fleurie", "picked_up") in stages and ("perfume-eau-fleurie", "seen") in stages
        # Erasing leaves nothing of hers; "For you" goes back to what is popular.
        status, erased = await ana.http("DELETE", "/api/me/trail")
        assert status == 200 and erased == {"consent": False, "since": None, "events": []}
        status, after = await ana.http("GET", "/api/recommendations?store=boutique")
        assert after["basis"] == "popular here"
        assert (await ana.http("GET", "/api/me/trail", auth=False))[0] == 401
    finally:
        await ana.close()
