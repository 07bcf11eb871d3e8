"""The cross-node bus keeps a message whose send fails (Redis restarting, cut off) and sends it, in order, once Redis
takes writes again."""

import asyncio
import json

from server.cluster.bus import Bus


class FlakyRedis:
    """Refuses the first `failures` writes like a Redis that is away, then takes them."""

    def __init__(self, failures: int) -> None:
        self.failures, self.stream = failures, []

    async def xadd(self, key, fields, maxlen=None, approximate=None):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Redis is restarting")
        self.stream.append(json.loads(fields["m"]))


async def test_a_failed_send_waits_and_goes_out_in_order_when_redis_is_back():
    redis = FlakyRedis(failures=3)
    bus = Bus(redis, "test:", "n0")  # type: ignore[arg-type]
    sender = asyncio.create_task(bus._send())
    try:
        for n in range(3):
            bus.publish("all", {"n": n})
        for _ in range(100):
            if len(redis.stream) == 3:
                break
            await asyncio.sleep(0.05)
    finally:
        sender.cancel()
    assert [m["n"] for m in redis.stream] == [0, 1, 2]
    assert bus.sent == 3 and bus.dropped == 0
