"""kill -9 a node of a two-node cluster (real processes, one Redis): every shopper it held gets snapshots again
through the other node, every acknowledged order and bag line is still there, and two friends whose rooms the
cluster placed on different nodes still chat. Times are reported by
`python -m sim failover` (bench/cluster.md), not asserted."""

from sim.failover import run_failover
from tests.storage_backends import REDIS_URL, require_redis


async def test_killing_a_node_loses_no_shopper_and_no_order():
    require_redis()
    report = await run_failover(nodes=2, bots=4, redis_url=REDIS_URL, settle_s=1.0, after_s=30.0)
    assert report.affected >= 1, report.summary()
    assert report.recovered == report.affected, report.summary()
    assert report.orders_found == report.orders_acknowledged == 4, report.summary()
    assert report.bag_lines_found == report.bag_lines_acknowledged == 4, report.summary()
    assert report.group_chat_after, report.summary()  # friends in rooms on different nodes, after the kill
