"""The shared bag and group membership on the storage layer, on both backends: concurrent editors never lose an
update, a line is paid for once, each can pay their own part, and membership survives a new process."""

from __future__ import annotations

import asyncio

import pytest

from server.commerce.catalog import load_catalog
from server.commerce.checkout import HOLD_S
from server.commerce.payments import TestProvider
from server.commerce.shop import Shop, ShopError
from server.social.service import GroupService
from tests.storage_backends import storage  # noqa: F401  (the fixture)
from tests.support import Clock

PICKUP = {"type": "pickup", "store": "boutique"}


@pytest.fixture
async def groups(storage):  # noqa: F811
    clock = Clock()
    shop = Shop(storage, load_catalog(), TestProvider(storage), clock=clock)
    await shop.seed_stock()
    return GroupService(storage, shop, clock=clock)


async def group_of(groups: GroupService, size: int) -> tuple[str, list[str]]:
    owner = (await groups.shop.create_shopper("Owner"))["shopper_id"]
    group = await groups.create(owner, "boutique", "main")
    code = next(iter(group.invites))
    members = [owner]
    for i in range(size - 1):
        shopper = (await groups.shop.create_shopper(f"Friend {i}"))["shopper_id"]
        await groups.accept(code, shopper)
        members.append(shopper)
    return group.id, members


def in_stock(shop: Shop, count: int, digital: bool = True) -> list[tuple[str, str]]:
    """(product, variant) pairs that are plentiful, of one currency and (by default) digital: no delivery."""
    found = [(p.id, v.id) for p in shop.catalog.products.values()
             if (p.kind == "virtual" or not digital) and p.currency == "EUR" for v in p.variants if v.stock >= 20]
    assert len(found) >= count, "the catalog needs more plentiful digital items for this test"
    return found[:count]


async def test_members_editing_at_once_never_lose_an_update(groups):
    gid, members = await group_of(groups, 8)
    items = in_stock(groups.shop, 8, digital=False)

    async def add(member: str, item: tuple[str, str]) -> None:
        for _ in range(3):  # each adds the same item three times: quantities must add up, lines must not double
            await groups.add_to_bag(gid, member, item[0], item[1], 1)

    await asyncio.gather(*(add(m, items[i]) for i, m in enumerate(members)),
                         *(add(m, items[0]) for m in members[1:3]))
    bag = await groups.bag(gid, members[0])
    lines = {(li["added_by"], li["product_id"], li["variant_id"]): li["quantity"] for li in bag["lines"]}
    # One line per member and item (each sees who added what), none lost, none doubled.
    expected = {(m, *items[i]): 3 for i, m in enumerate(members)} | {(m, *items[0]): 3 for m in members[1:3]}
    assert lines == expected and len(bag["lines"]) == 10
    assert {li["added_by_name"] for li in bag["lines"]} == {"Owner"} | {f"Friend {i}" for i in range(7)}


async def test_each_pays_their_part_or_one_pays_for_all_but_never_twice(groups):
    gid, (ann, ben, cy) = await group_of(groups, 3)
    (p1, v1), (p2, v2) = in_stock(groups.shop, 2)
    await groups.add_to_bag(gid, ann, p1, v1, 1)
    await groups.add_to_bag(gid, ben, p2, v2, 2)

    # Ben pays his part: only his line.
    mine = await groups.checkout_group(gid, ben, "mine", "test_approve", None)
    assert [(li["product_id"], li["quantity"]) for li in mine["lines"]] == [(p2, 2)]
    # Meanwhile nobody can pay for everything (Ben's line is being paid for)...
    with pytest.raises(ShopError) as busy:
        await groups.checkout_group(gid, cy, "all", "test_approve", None)
    assert busy.value.code == "lines_in_checkout"
    # ...but Ann can still pay her own part, and editing other lines does not disturb Ben's checkout.
    await groups.add_to_bag(gid, cy, p1, v1, 1)  # the same item as Ann's: a line of Cy's own
    shop = groups.shop
    await shop.hold(ben, mine["id"], "start")
    shop.clock.t += HOLD_S
    assert (await shop.hold(ben, mine["id"], "end"))["state"] == "placed"
    bag = await groups.bag(gid, ann)
    assert [(li["added_by"], li["product_id"]) for li in bag["lines"]] == [(ann, p1), (cy, p1)]  # Ben's left
    assert [o["id"] for o in await shop.orders(ben)] == [mine["id"]] and await shop.orders(ann) == []

    # Two members racing to pay for everything: exactly one checkout holds the lines.
    results = await asyncio.gather(groups.checkout_group(gid, ann, "all", "test_approve", None),
                                   groups.checkout_group(gid, cy, "all", "test_approve", None),
                                   return_exceptions=True)
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if isinstance(r, ShopError)]
    assert len(won) == 1 and len(lost) == 1 and lost[0].code == "lines_in_checkout"
    # Once that checkout is cancelled the lines are free again.
    payer = ann if isinstance(results[0], dict) else cy
    await shop.cancel(payer, won[0]["id"])
    again = await groups.checkout_group(gid, ben, "all", "test_approve", None)
    assert again["total_minor"] == won[0]["total_minor"]


async def test_a_change_to_the_covered_lines_stops_the_confirmation(groups):
    gid, (ann, ben) = await group_of(groups, 2)
    (p1, v1), (p2, v2) = in_stock(groups.shop, 2)
    await groups.add_to_bag(gid, ann, p1, v1, 1)
    await groups.add_to_bag(gid, ben, p2, v2, 1)
    checkout = await groups.checkout_group(gid, ann, "mine", "test_approve", None)
    bag = await groups.bag(gid, ben)
    ann_line = next(li for li in bag["lines"] if li["added_by"] == ann)
    await groups.set_quantity(gid, ben, ann_line["line_id"], 3)  # someone changed what Ann is paying for
    shop = groups.shop
    await shop.hold(ann, checkout["id"], "start")
    shop.clock.t += HOLD_S
    with pytest.raises(ShopError) as changed:
        await shop.hold(ann, checkout["id"], "end")
    assert changed.value.code == "bag_changed"
    assert await shop.orders(ann) == []


async def test_membership_lives_in_storage_not_in_the_process(groups):
    gid, (ann, ben) = await group_of(groups, 2)
    fresh = GroupService(groups.storage, groups.shop, clock=groups.clock)  # another process, or after a restart
    found = await fresh.group_of(ben)
    assert found is not None and found.id == gid and set(found.members) == {ann, ben}
    await fresh.leave(gid, ann)  # the owner leaves: the earliest member takes over
    after = await groups.group_of(ben)
    assert after.members[ben].role == "owner" and ann not in after.members
    assert await groups.group_of(ann) is None
    await groups.leave(gid, ben)
    assert await fresh.group_of(ben) is None
    with pytest.raises(ShopError) as gone:
        await fresh.group(gid, ben)
    assert gone.value.code == "group_unknown"


async def test_joining_another_group_leaves_the_first(groups):
    gid1, (ann, ben) = await group_of(groups, 2)
    gid2, (cy,) = await group_of(groups, 1)
    code2 = next(iter((await groups.group(gid2, cy)).invites))
    await groups.accept(code2, ben)
    assert (await groups.group_of(ben)).id == gid2
    assert ben not in (await groups.group(gid1, ann)).members


async def test_many_joiners_for_the_last_places(groups):
    gid, members = await group_of(groups, 6)  # two places left of max_group_members (8)
    code = next(iter((await groups.group(gid, members[0])).invites))
    joiners = [(await groups.shop.create_shopper(f"J{i}"))["shopper_id"] for i in range(5)]
    results = await asyncio.gather(*(groups.accept(code, j) for j in joiners), return_exceptions=True)
    assert sum(not isinstance(r, Exception) for r in results) == 2
    assert all(isinstance(r, ShopError) and r.code in ("group_full", "invite_used_up")
               for r in results if isinstance(r, Exception))
    assert len((await groups.group(gid, members[0])).members) == 8
