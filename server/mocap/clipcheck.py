"""What a viewer sees of each real clip: planted-foot height, head tilt, loop seam. Prints one block per clip.

    python -m server.mocap.clipcheck [folder]     (default ../shared/data/mocap or PLAZA_MOCAP_DATA)

The numbers in docs/MOCAP.md ("Clip checks") come from this. It uses only retarget_clip, make_track and
body_fk, so it also runs against older versions of those (to measure a change before and after).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from server.mocap.bench import DATA
from server.mocap.bvh import load_bvh
from server.mocap.fk import body_fk, body_offsets, quat_angle, quat_rotate
from server.mocap.ingest import make_track
from server.mocap.retarget import retarget_clip
from server.realtime.skeleton import BODY_INDEX as J

HEIGHT = 1.70
LOOPS = 6


def check(path: Path) -> str:
    clip = load_bvh(path)
    _, hips, local = retarget_clip(clip, HEIGHT)
    pos, rot = body_fk(hips, local, HEIGHT)
    # Stance foot: the lowest ankle in frames where it stands still (< 0.2 m/s); ours stands 8 cm up at 1.70 m.
    ankles = pos[:, [J["leftFoot"], J["rightFoot"]]]
    low = ankles[np.arange(len(ankles)), ankles[..., 1].argmin(axis=1)]
    speed = np.r_[0.0, np.linalg.norm(np.diff(low[:, [0, 2]], axis=0), axis=1) * clip.fps]
    standing = float(body_offsets(HEIGHT)[[0, J["leftUpperLeg"], J["leftLowerLeg"], J["leftFoot"]], 1].sum())
    foot = (float(np.median(low[speed < 0.2, 1])) - standing) * 100
    up = quat_rotate(rot[:, J["head"]], np.array([0.0, 1.0, 0.0]))
    tilt = np.degrees(np.arccos(np.clip(up[:, 1], -1.0, 1.0)))
    eye = (pos[:, J["head"], 1] + 0.07 * up[:, 1] - pos[:, J["head"], 1]).min() * 100
    track = make_track(clip, HEIGHT)
    t = np.arange(0.0, LOOPS * track.duration, 1 / 60)
    h, r = track.sample(t)
    step = np.linalg.norm(np.diff(h, axis=0), axis=1)
    seam = np.abs((t[1:] + track.duration / 2) % track.duration - track.duration / 2) < 0.5
    turn = np.degrees(quat_angle(r[1:], r[:-1])).max(axis=-1)
    far = np.linalg.norm(h[:, [0, 2]] - h[0, [0, 2]], axis=1).max()
    return (f"{path.name}\n"
            f"  planted foot above the floor: {foot:+.2f} cm (median over {int((speed < 0.2).sum())} frames)\n"
            f"  head up from vertical: median {np.median(tilt):.1f} deg, max {tilt.max():.1f}; "
            f"eyes above the skull base: min {eye:+.1f} cm\n"
            f"  loop seam (60 Hz, {LOOPS} loops): max hips step {step[seam].max():.3f} m, "
            f"max joint turn per tick {turn[seam].max():.1f} deg; farthest from the start {far:.2f} m\n")


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else DATA
    paths = sorted(folder.glob("*.bvh"))
    if not paths:
        print(f"no .bvh files in {folder}", file=sys.stderr)
        return 1
    for p in paths:
        print(check(p), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
