"""Redis restarts under a running two-node cluster, then the room's node is cut off from Redis (a blackhole, not a
reset) for longer than its lease: real processes, a private redis-server (the suite's shared one is never
restarted). What always holds is asserted; `python -m sim outage` prints the times (bench/cluster.md)."""

from sim.outage import run_outage
from tests.support import require_tool


async def test_a_redis_restart_and_a_partition_lose_no_room_order_or_bag_line():
    require_tool("redis-server", "the outage test runs its own Redis to restart it")
    report = await run_outage(nodes=2, bots=4, down_s=2.0, cut_s=8.5)
    summary = report.summary()
    restart, cut = report.restart, report.partition
    # Redis down: the room runs on (snapshots keep coming), durable requests say 503 storage_unavailable at once
    assert restart["snapshot_hz_min"] > 1, summary
    assert restart["durable_while_down"] and all(p.startswith("503 storage_unavailable")
                                                 for p in restart["durable_while_down"]), summary
    # ... and once it is back every node serves again, and a new shopper can buy
    assert restart["durable_back_s_max"] is not None and restart["newcomer_bought"], summary
    # The cut node: its room runs on; a durable request fails with 503 (after the socket timeout, never hanging)
    assert cut["bots_on_cut_node"] == 4 and cut["snapshot_hz_min"] > 1, summary
    assert cut["durable_while_cut"].startswith("503 storage_unavailable"), summary
    # a newcomer meanwhile is placed on the node that still reaches Redis; after healing the cut node gives the
    # room up (4010) and every bot joins the newcomer there
    assert cut["newcomer_node"] == cut["other_node"], summary
    assert 4010 in cut["close_codes"] and cut["reunited"] == 4, summary
    assert restart["nodes_alive"] and cut["nodes_alive"], summary
    assert report.orders_found == report.orders_acknowledged == 4, summary
    assert report.bag_lines_found == report.bag_lines_acknowledged == 4, summary
