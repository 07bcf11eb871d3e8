"""Store analytics (issue 18, docs/OPERATIONS.md): heatmap cells and the funnel from the server's own samples,
nothing published that fewer than three visitors reached, pseudonyms that change with the day, figures kept
in storage (both backends) and merged across flushes and nodes; on a live server, three shoppers standing in
front of the perfumes show up in the owner's figures, a hold out of reach counts nothing, and the owner's
endpoints need the operator token."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from server.analytics.aggregate import CELL_M, MIN_VISITORS, DayFigures, Sample, merge
from server.analytics.collector import Collector, SeatView, stored_days
from server.analytics.svg import funnel_chart, heatmap
from server.realtime.pose import HEAD
from server.realtime.quantize import quantize_quats
from sim.shopper import Shopper
from tests.storage_backends import storage  # noqa: F401  (the fixture)

PRODUCTS = {"perfume": (0.0, 2.0), "coat": (-5.0, 5.0)}
FACING_PERFUME = (0.0, -1.0)  # from z = 4 looking towards -z


def _day(secret: bytes = b"s" * 32) -> DayFigures:
    return DayFigures("boutique", "2026-12-02", secret)


def test_a_cell_three_visitors_reached_is_shown_and_one_two_reached_is_not() -> None:
    day = _day()
    crowd = [Sample(f"shopper-{i}", (0.1, 4.1), FACING_PERFUME) for i in range(MIN_VISITORS)]
    day.observe(crowd, 0.5, PRODUCTS)
    day.observe([Sample("loner", (-5.2, 6.3), (0.0, 1.0)), Sample("shopper-0", (-5.2, 6.3), (0.0, 1.0))], 0.5,
                PRODUCTS)
    shown = day.publish()
    assert [(c["x"], c["z"], c["visitors"]) for c in shown["cells"]] == [(0, 8, 3)]
    assert shown["cells"][0]["dwell_s"] == 1.5
    assert shown["visitors"] == 4
    # The perfume was in front of three faces; the coat behind the two in the corner (facing away): not seen.
    assert shown["funnel"] == {"perfume": {"seen": 3, "picked_up": None, "tried_on": None, "in_bag": None,
                                           "bought": None}}


def test_a_product_is_seen_only_in_front_of_the_face_and_near_enough() -> None:
    day = _day()
    day.observe([Sample(f"a{i}", (0.0, 4.0), (0.0, 1.0)) for i in range(3)], 0.5, PRODUCTS)  # back to it
    day.observe([Sample(f"b{i}", (0.0, 9.0), FACING_PERFUME) for i in range(3)], 0.5, PRODUCTS)  # 7 m away
    assert day.publish()["funnel"] == {}
    day.observe([Sample(f"c{i}", (0.0, 4.0), FACING_PERFUME) for i in range(3)], 0.5, PRODUCTS)
    assert day.publish()["funnel"]["perfume"]["seen"] == 3


def test_funnel_stages_count_distinct_visitors_and_small_stages_are_left_out() -> None:
    day = _day()
    for i in range(5):
        day.event(f"s{i}", "perfume", "seen")
    for _ in range(4):
        day.event("s0", "perfume", "picked_up")  # one shopper picking it up four times is one
    for i in range(3):
        day.event(f"s{i}", "perfume", "in_bag")
    row = day.publish()["funnel"]["perfume"]
    assert row == {"seen": 5, "picked_up": None, "tried_on": None, "in_bag": 3, "bought": None}
    with pytest.raises(ValueError):
        day.event("s0", "perfume", "liked")


def test_pseudonyms_change_with_the_day_and_stored_figures_name_nobody() -> None:
    monday, tuesday = _day(b"m" * 32), _day(b"t" * 32)
    assert monday.who("shopper-1") == monday.who("shopper-1") != tuesday.who("shopper-1")
    monday.observe([Sample("shopper-1", (0.0, 4.0), FACING_PERFUME, in_group=True)], 0.5, PRODUCTS)
    monday.event("shopper-1", "perfume", "bought")
    stored = json.dumps(monday.to_doc())
    assert "shopper-1" not in stored
    again = DayFigures.from_doc(json.loads(stored), b"m" * 32)
    assert again.to_doc() == monday.to_doc()
    assert again.together == {monday.who("shopper-1")}


def test_time_in_store_and_the_share_shopping_together() -> None:
    day = _day()
    for i, seconds in enumerate((30, 200, 200, 2000)):
        day.observe([Sample(f"v{i}", (0.0, 4.0), FACING_PERFUME, in_group=i < 1)], seconds, {})
    shown = day.publish()
    assert shown["time_in_store"]["visitors"] == [1, 2, 0, 0, 1]
    assert shown["time_in_store"]["median_s"] == 200.0
    assert shown["together_share"] == 0.25
    # Too few visitors in all: the day's totals are not shown either.
    small = _day()
    small.observe([Sample("only", (0.0, 4.0), FACING_PERFUME)], 1.0, {})
    assert small.publish()["visitors"] is None and small.publish()["together_share"] is None


def test_days_merge_into_one_view() -> None:
    days = []
    for d in ("2026-12-01", "2026-12-02"):
        day = DayFigures("boutique", d, d.encode())
        day.observe([Sample(f"v{i}", (0.1, 4.1), FACING_PERFUME) for i in range(3)], 1.0, PRODUCTS)
        days.append(day.publish())
    total = merge(days)
    assert total["days"] == ["2026-12-01", "2026-12-02"] and total["visitor_days"] == 6
    assert total["cells"] == [{"x": 0, "z": 8, "dwell_s": 6.0, "visitor_days": 6}]
    assert total["funnel"]["perfume"]["seen"] == 6
    assert total["funnel"]["perfume"]["picked_up"] is None  # left out every day: still left out, not 0


def test_the_pictures_draw_the_floor_the_cells_and_the_bars() -> None:
    day = _day()
    day.observe([Sample(f"v{i}", (0.1, 4.1), FACING_PERFUME) for i in range(3)], 1.0, PRODUCTS)
    shown = day.publish()
    floor = np.array([[-8.0, -1.0], [8.0, -1.0], [8.0, 9.0], [-8.0, 9.0]])
    svg = heatmap(shown, floor, [((-8.0, -1.0), (8.0, -1.0))], [], "Dwell & more")
    assert svg.startswith("<svg") and svg.count("<rect") == 2 and "Dwell &amp; more" in svg  # background + 1 cell
    bars = funnel_chart(shown, {"perfume": "Eau Fleurie"}, "Funnel")
    assert "Eau Fleurie" in bars and ">3<" in bars and "&lt;3" in bars
    empty = heatmap(_day().publish(), floor, [], [], "Dwell")
    assert "Not enough visitors yet" in empty


def _seat(shopper: str, xz: tuple[float, float], held_facing=(0.0, 0.0, 0.0, 1.0)) -> SeatView:
    rot = tuple(int(v) for v in quantize_quats(np.array([held_facing]))[0])
    return SeatView("boutique", shopper, (xz[0], 1.6, xz[1]), rot, False)


async def test_the_collector_keeps_the_day_in_storage_and_merges_flushes_and_nodes(storage) -> None:  # noqa: F811
    now = [1796212800.0]  # 2026-12-02 12:00 UTC
    node_a = Collector(storage, lambda store: PRODUCTS, wall_clock=lambda: now[0])
    node_b = Collector(storage, lambda store: PRODUCTS, wall_clock=lambda: now[0])
    await node_a.prepare()
    await node_b.prepare()
    assert node_a.secrets == node_b.secrets  # one secret of the day for every node
    node_a.sample([_seat("ann", (0.1, 4.1)), _seat("bob", (0.1, 4.1))], 0.5)
    node_b.sample([_seat("cem", (0.1, 4.1))], 0.5)
    assert node_a.held(_seat("ann", (0.1, 4.1)), "perfume")  # 2.1 m: within reach
    assert not node_a.held(_seat("bob", (0.1, 4.1)), "coat")  # the coat is 5 m away: a claim, not counted
    await asyncio.gather(node_a.flush(), node_b.flush())
    node_a.sample([_seat("ann", (0.1, 4.1))], 0.5)
    await node_a.flush()
    [doc] = await stored_days(storage, "boutique")
    day = DayFigures.from_doc(doc, b"")
    cell = (int(0.1 // CELL_M), int(4.1 // CELL_M))
    assert len(day.cell_visitors[cell]) == 3 and day.dwell_s[cell] == pytest.approx(2.0)
    assert len(day.funnel["perfume"]["seen"]) == 3 and len(day.funnel["perfume"]["picked_up"]) == 1
    assert "coat" not in day.funnel
    # The next day: a new secret; the old one is deleted (its pseudonyms can no longer be tied to anyone).
    old = doc["day"]
    now[0] += 2 * 86400
    await node_a.prepare()
    assert old not in node_a.secrets and await storage.get("analytics_secret", old) is None


async def test_live_shoppers_show_up_in_the_owners_figures(live_server) -> None:
    url, operator = live_server.url, live_server.settings.operator_token
    shoppers = [await Shopper.make(url, f"Vi{i}") for i in range(MIN_VISITORS)]
    try:
        for s in shoppers:
            await s.enter()
        # Each stands in front of the perfume counter (boutique: perfume at x -0.17, z 2.0), facing it.
        for _ in range(60):
            for s in shoppers:
                s.client.send_pose({HEAD: np.array([0.1, 1.6, 4.1, 0.0, 0.0, 0.0, 1.0])})
            await asyncio.sleep(1 / 30)
        await shoppers[0].ask({"t": "hold", "product": "perfume-eau-fleurie"})  # 2.1 m away: within reach
        await shoppers[1].ask({"t": "hold", "product": "slip-dress"})  # across the store: not counted
        await asyncio.sleep(0.7)
        status, _ = await shoppers[0].http("GET", "/api/admin/analytics?store=boutique")
        assert status == 401
        status, figures = await shoppers[0].http("GET", "/api/admin/analytics?store=boutique", operator=operator)
        assert status == 200, figures
        [today] = figures["days"]
        assert today["visitors"] == MIN_VISITORS
        assert any(c["visitors"] == MIN_VISITORS for c in today["cells"])
        assert today["funnel"]["perfume-eau-fleurie"]["seen"] == MIN_VISITORS
        assert today["funnel"]["perfume-eau-fleurie"]["picked_up"] is None  # one visitor: left out
        assert "slip-dress" not in today["funnel"] or today["funnel"]["slip-dress"]["picked_up"] is None
        assert "Vi0" not in json.dumps(figures) and shoppers[0].id not in json.dumps(figures)
        status, problem = await shoppers[0].http("GET", "/api/admin/analytics?store=nowhere", operator=operator)
        assert (status, problem["code"]) == (404, "unknown_store")
    finally:
        for s in shoppers:
            await s.close()


def test_the_report_command_writes_the_same_figures_as_files(tmp_path) -> None:
    from server.cli import main
    from server.storage import open_storage

    async def fill() -> None:
        store = open_storage(tmp_path)
        try:
            collector = Collector(store, lambda s: {"perfume-eau-fleurie": (-0.1667, 2.0)})
            await collector.prepare()
            collector.sample([_seat(f"v{i}", (0.1, 4.1)) for i in range(3)], 2.0)
            await collector.flush()
        finally:
            await store.close()
    asyncio.run(fill())
    out = tmp_path / "report"
    assert main(["report", "--store", "boutique", "--out", str(out), "--data-dir", str(tmp_path)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["total"]["visitor_days"] == 3 and report["total"]["funnel"]["perfume-eau-fleurie"]["seen"] == 3
    assert "Eau Fleurie" in (out / "funnel.svg").read_text()
    assert (out / "heatmap.svg").read_text().count("<rect") == 2
    assert main(["report", "--store", "nowhere", "--out", str(out), "--data-dir", str(tmp_path)]) == 2


# ---------------------------------------------------------------------- recommendations from behaviour
def _recommender():  # type: ignore[no-untyped-def]
    from server.analytics.recommend import Recommender, items_from_catalog
    from server.commerce.catalog import load_catalog

    return Recommender(items_from_catalog(load_catalog().products)), load_catalog().products


def test_without_behaviour_the_answer_is_the_stores_popularity() -> None:
    model, _ = _recommender()
    model.learn([[("oxford-shirt-men", "bought")], [("oxford-shirt-men", "bought"), ("slip-dress", "bought")]])
    assert model.recommend(None, 2) == ["oxford-shirt-men", "slip-dress"]
    assert model.recommend([], 1, exclude=["oxford-shirt-men"]) == ["slip-dress"]


def test_what_a_shopper_handled_steers_the_rest_and_what_they_bought_is_not_offered() -> None:
    model, products = _recommender()
    shoes = [p for p in products.values() if p.category == "shoes"]
    events = [(shoes[0].id, "tried_on"), (shoes[1].id, "bought")]
    top = model.recommend(events, 3)
    assert shoes[1].id not in top
    assert sum(products[p].category == "shoes" for p in top) >= 2, [products[p].category for p in top]


def test_behaviour_beats_popularity_on_simulated_shoppers() -> None:
    from server.analytics.bench_recommend import evaluate

    result = evaluate(seed=11, train=200, test=150)
    assert result["cases"] > 50
    assert result["behaviour"] > 2 * result["popularity"], result


async def test_for_you_follows_the_shoppers_bag_and_otherwise_what_sells(live_server) -> None:
    from server.analytics.api import products_of
    from server.commerce.catalog import load_catalog

    catalog = load_catalog().products
    boutique = products_of("boutique")
    shoes = [p for p in catalog.values() if p.category == "shoes" and p.id in boutique]
    shopper = await Shopper.make(live_server.url, "Fay")
    status, anonymous = await shopper.http("GET", "/api/recommendations?store=boutique", auth=False)
    assert status == 200 and anonymous["basis"] == "popular here" and len(anonymous["products"]) == 5
    status, _ = await shopper.http("POST", "/api/bag/lines", {"product_id": shoes[0].id,
                                                              "variant_id": shoes[0].variants[0].id, "quantity": 1})
    assert status == 200
    status, mine = await shopper.http("GET", "/api/recommendations?store=boutique&k=3")
    assert status == 200 and mine["basis"] == "your choices"
    assert all(p["id"] in boutique for p in mine["products"])  # only what this store shows
    assert shoes[0].id not in [p["id"] for p in mine["products"]]  # already in the bag
    assert sum(p["category"] == "shoes" for p in mine["products"]) >= 2, mine
    status, problem = await shopper.http("GET", "/api/recommendations?store=nowhere")
    assert (status, problem["code"]) == (404, "unknown_store")
    status, problem = await shopper.http("GET", "/api/recommendations?store=boutique&k=99")
    assert status == 422
