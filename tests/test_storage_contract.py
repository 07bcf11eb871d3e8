"""The storage contract, run on both backends: stock never below zero whatever the concurrency, reservations
settle exactly once, documents never lose a concurrent update, expiring and owned documents."""

from __future__ import annotations

import asyncio
import time

import pytest

from server.storage import OutOfStock, VersionConflict
from tests.storage_backends import storage  # noqa: F401  (the fixture)


async def test_a_thousand_concurrent_reservations_for_the_last_ten_units(storage):  # noqa: F811
    await storage.seed_stock({"tee-m": 10, "cap": 1000})
    deadline = time.time() + 60

    async def attempt(i: int) -> bool:
        try:
            await storage.reserve(f"r{i}", {"tee-m": 1, "cap": 1}, deadline)
            return True
        except OutOfStock as exc:
            assert exc.sku == "tee-m" and exc.available == 0
            return False

    won = await asyncio.gather(*(attempt(i) for i in range(1000)))
    assert sum(won) == 10
    assert await storage.stock(["tee-m", "cap"]) == {"tee-m": 0, "cap": 990}  # all or nothing per reservation


async def test_release_and_commit_take_effect_exactly_once(storage):  # noqa: F811
    await storage.seed_stock({"a": 5, "b": 5})
    await storage.reserve("r1", {"a": 2, "b": 1}, time.time() + 60)
    await storage.reserve("r2", {"a": 3}, time.time() + 60)
    assert await storage.stock(["a", "b"]) == {"a": 0, "b": 4}
    results = await asyncio.gather(*(storage.release("r1") for _ in range(50)))
    assert sum(results) == 1 and await storage.stock(["a", "b"]) == {"a": 2, "b": 5}
    assert await storage.commit("r1") is False  # released: can no longer be sold
    assert sum(await asyncio.gather(*(storage.commit("r2") for _ in range(50)))) == 1
    assert await storage.release("r2") is False  # sold: never returned to the shelf
    assert await storage.stock(["a"]) == {"a": 2}
    assert (await storage.reservation("r2")).state == "committed"
    assert await storage.release("nope") is False and await storage.reservation("nope") is None


async def test_the_same_reservation_id_again_returns_the_first_without_touching_stock(storage):  # noqa: F811
    await storage.seed_stock({"a": 3})
    first = await storage.reserve("r", {"a": 2}, 123.0)
    again = await storage.reserve("r", {"a": 1}, 999.0)
    assert again == first and await storage.stock(["a"]) == {"a": 1}


async def test_unknown_items_and_bad_lines_are_refused(storage):  # noqa: F811
    await storage.seed_stock({"a": 3})
    with pytest.raises(OutOfStock) as unknown:
        await storage.reserve("r", {"a": 1, "ghost": 1}, time.time())
    assert unknown.value.available == -1 and await storage.stock(["a", "ghost"]) == {"a": 3, "ghost": -1}
    for lines in ({}, {"a": 0}, {"a": -1}, {"a": 1.5}):
        with pytest.raises(ValueError):
            await storage.reserve("bad", lines, time.time())
    with pytest.raises(ValueError):
        await storage.set_stock("a", -1)


async def test_seeding_never_overwrites_what_storage_owns(storage):  # noqa: F811
    await storage.seed_stock({"a": 3})
    await storage.reserve("r", {"a": 1}, time.time() + 60)
    await storage.seed_stock({"a": 3, "b": 7})
    assert await storage.stock(["a", "b"]) == {"a": 2, "b": 7}
    await storage.set_stock("a", 9)
    assert await storage.stock(["a"]) == {"a": 9}


async def test_expired_reservations_are_found_for_release(storage):  # noqa: F811
    await storage.seed_stock({"a": 10})
    now = time.time()
    await storage.reserve("old", {"a": 1}, now - 5)
    await storage.reserve("new", {"a": 1}, now + 60)
    await storage.reserve("sold", {"a": 1}, now - 5)
    await storage.commit("sold")
    assert await storage.expired_reservations(now) == ["old"]
    assert await storage.release("old") and await storage.expired_reservations(now) == []


async def test_concurrent_read_modify_write_never_loses_an_update(storage):  # noqa: F811
    assert await storage.put("bag", "s1", {"lines": []}, 0, owner="s1") == 1
    with pytest.raises(VersionConflict):
        await storage.put("bag", "s1", {"lines": []}, 0)  # create only if absent

    async def add(item: str) -> None:
        while True:
            doc = await storage.get("bag", "s1")
            try:
                await storage.put("bag", "s1", {"lines": [*doc.value["lines"], item]}, doc.version)
                return
            except VersionConflict:
                await asyncio.sleep(0)

    await asyncio.gather(*(add(f"item{i}") for i in range(40)))
    doc = await storage.get("bag", "s1")
    assert sorted(doc.value["lines"]) == sorted(f"item{i}" for i in range(40)) and doc.version == 41


async def test_owned_documents_are_listed_in_write_order_and_deleted_ones_vanish(storage):  # noqa: F811
    for key in ("o1", "o2", "o3"):
        await storage.put("order", key, {"n": key}, 0, owner="ann")
    await storage.put("order", "x", {"n": "x"}, 0, owner="bob")
    await storage.put("order", "o1", {"n": "o1", "paid": True}, 1, owner="ann")  # an update keeps its place
    assert await storage.owned("order", "ann") == ["o1", "o2", "o3"]
    assert await storage.delete("order", "o2") and not await storage.delete("order", "o2")
    assert await storage.owned("order", "ann") == ["o1", "o3"] and await storage.get("order", "o2") is None


async def test_expiring_documents_disappear_and_can_be_made_again(storage):  # noqa: F811
    await storage.put("idem", "k", {"result": 1}, 0, ttl_s=0.2)
    assert (await storage.get("idem", "k")).value == {"result": 1}
    await asyncio.sleep(0.4)
    assert await storage.get("idem", "k") is None
    assert await storage.put("idem", "k", {"result": 2}, 0, ttl_s=60) == 1
    with pytest.raises(ValueError):
        await storage.put("idem", "nan", {"x": float("nan")}, 0)


async def test_a_held_reservation_can_be_extended_and_a_settled_one_cannot(storage):  # noqa: F811
    await storage.seed_stock({"a": 2})
    now = time.time()
    await storage.reserve("r", {"a": 1}, now - 1)
    assert await storage.extend("r", now + 300)
    assert await storage.expired_reservations(now) == [] and (await storage.reservation("r")).expires_at == now + 300
    await storage.commit("r")
    assert not await storage.extend("r", now + 600)
    assert await storage.restock("a", 3) == 4 and await storage.stock(["a"]) == {"a": 4}
    with pytest.raises(ValueError):
        await storage.restock("a", 0)
