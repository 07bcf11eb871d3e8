"""ClientSync's record of what a client received: the per-avatar baselines a changed view starts from."""

import numpy as np

from server.realtime.sync import ClientSync


def test_known_gives_every_avatars_newest_received_tick_whatever_the_log_held():
    """Frames in flight with reused view and far arrays (as the interest code hands them out), acks that cover
    several frames, frames replaced unsent, known() asked at random moments: each slot's value must be the
    newest acknowledged tick of a frame that carried it, as a plain replay of every arrival says."""
    rng = np.random.default_rng(4)
    allocated = 120
    views = [np.sort(rng.choice(allocated, rng.integers(5, 40), replace=False)) for _ in range(5)]
    fars = {}  # phase -> array, replaced now and then (the visible set changed)
    sync = ClientSync(avatar_id=1, slot=0, allocated=allocated)
    arrived: list[tuple[int, np.ndarray, np.ndarray]] = []
    view = views[0]
    checked = 0
    for tick in range(1, 400):
        if rng.random() < 0.05:
            view = views[rng.integers(len(views))]
        if rng.random() < 0.02:
            fars.clear()
        phase = tick % 12
        if phase not in fars:
            fars[phase] = np.sort(rng.choice(allocated, rng.integers(0, 15), replace=False))
        sync.inflight.append((tick, view, fars[phase]))
        if rng.random() < 0.1:
            sync.dropped(tick)
        if rng.random() < 0.6:  # an ack for everything up to a recent tick
            sync.ack(tick - int(rng.integers(0, 3)), tick)
        before = {entry[0] for entry in sync.inflight}
        sync.settle()
        arrived += [e for e in sync._arrived if e[0] in before and e[0] not in {a[0] for a in arrived}]
        if rng.random() < 0.2:
            want = np.zeros(allocated, dtype=np.int32)
            for t, near, far in arrived[-64:]:  # the log keeps the last 64 arrivals
                want[near] = t
                want[far] = t
            got = sync.known(allocated)
            # slots last carried by an arrival older than the log's 64 may differ; nothing newer may
            recent = want > 0
            assert np.array_equal(got[recent], want[recent])
            checked += 1
    assert checked > 50
