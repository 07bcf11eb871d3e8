"""Process metrics: counters, gauges and the tick-work histogram, rendered in Prometheus text format."""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Callable

TICK_BUCKETS_MS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 33.0, 66.0)


class Metrics:
    def __init__(self, window_ticks: int = 3600) -> None:
        self.counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.help: dict[str, str] = {}
        self.gauges: dict[str, Callable[[], float]] = {}
        # Monotonic counts kept elsewhere (read when scraped), rendered as counters.
        self.counter_callbacks: dict[str, Callable[[], float]] = {}
        self.tick_buckets = [0] * (len(TICK_BUCKETS_MS) + 1)
        self.tick_sum_ms = 0.0
        self.tick_count = 0
        self.recent_ticks_ms: deque[float] = deque(maxlen=window_ticks)  # for /api/stats percentiles
        self.started = time.monotonic()

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())) if labels else ())  # per-message path: keep it cheap
        self.counters[key] = self.counters.get(key, 0.0) + value

    def get(self, name: str, **labels: str) -> float:
        if not labels and name in self.counter_callbacks:
            return float(self.counter_callbacks[name]())
        return self.counters.get((name, tuple(sorted(labels.items()))), 0.0)

    def observe_tick(self, work_ms: float) -> None:
        self.tick_buckets[bisect.bisect_left(TICK_BUCKETS_MS, work_ms)] += 1
        self.tick_sum_ms += work_ms
        self.tick_count += 1
        self.recent_ticks_ms.append(work_ms)

    def render(self) -> str:
        lines: list[str] = []
        for name, fn in sorted(self.gauges.items()):
            lines += [f"# TYPE {name} gauge", f"{name} {_number(fn())}"]
        for name, fn in sorted(self.counter_callbacks.items()):
            lines += [f"# TYPE {name} counter", f"{name} {_number(fn())}"]
        seen: set[str] = set()
        for (name, labels), value in sorted(self.counters.items()):
            if name not in seen:
                seen.add(name)
                if name in self.help:
                    lines.append(f"# HELP {name} {self.help[name]}")
                lines.append(f"# TYPE {name} counter")
            label_text = ",".join(f'{k}="{v}"' for k, v in labels)
            lines.append(f"{name}{{{label_text}}} {_number(value)}" if label_text else f"{name} {_number(value)}")
        lines += ["# HELP plaza_tick_work_seconds Time spent in one room tick (all rooms of the process).",
                  "# TYPE plaza_tick_work_seconds histogram"]
        cumulative = 0
        for bound, count in zip(TICK_BUCKETS_MS, self.tick_buckets, strict=False):
            cumulative += count
            lines.append(f'plaza_tick_work_seconds_bucket{{le="{bound / 1000:g}"}} {cumulative}')
        lines.append(f'plaza_tick_work_seconds_bucket{{le="+Inf"}} {self.tick_count}')
        lines.append(f"plaza_tick_work_seconds_sum {self.tick_sum_ms / 1000:g}")
        lines.append(f"plaza_tick_work_seconds_count {self.tick_count}")
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    """Counters exactly (1738912, not 1.73891e+06, which loses the last digits a rate needs)."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)
