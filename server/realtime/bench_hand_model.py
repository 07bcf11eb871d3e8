"""Benchmark of the hand model: accuracy of joints -> params -> 8-bit -> joints, and encode/decode throughput.

Run from the repo root:  .venv/bin/python -m server.realtime.bench_hand_model [--iwer DIR]
Writes bench/hand_model.json and bench/hand_model.md.

Real poses come from the npm package `iwer` (Immersive Web Emulation Runtime), whose emulated hands play Meta's
recorded "relaxed", "point" and "pinch" left-hand poses. They are read at run time from an installed copy and never
stored in the repo. Where to find it: --iwer DIR, else $PLAZA_IWER_DIR, else webxr_client/node_modules/iwer; both
point at the package directory (install one outside the repo with `npm install --prefix <dir> iwer`). Node (from
the npm install) loads its ES modules. Like IWER itself, the benchmark blends each pose towards "pinch" (position
lerp, rotation slerp, pinch value 0..1) and mirrors left into right with S M S, S = diag(-1, 1, 1).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from server.realtime.hand_model import (
    HAND_JOINTS,
    dequantize_angles,
    dequantize_scale,
    hand_params_from_joints,
    joints_from_hand_params,
    quantize_angles,
    quantize_scale,
    synthetic_hand_poses,
)
from server.realtime.quat import quat_mul

REPO = Path(__file__).resolve().parents[2]
THUMB_TIP, INDEX_TIP = HAND_JOINTS.index("thumb-tip"), HAND_JOINTS.index("index-finger-tip")

_NODE_DUMP = """
const dir = process.argv[1];
const out = {};
for (const name of ['relaxed', 'point', 'pinch']) {
  const mod = await import('file://' + dir + '/lib/device/configs/hand/' + name + '.js');
  out[name] = Object.values(mod)[0].jointTransforms;
}
console.log(JSON.stringify(out));
"""


def find_iwer(cli_dir: str | None) -> Path | None:
    for candidate in (cli_dir, os.environ.get("PLAZA_IWER_DIR"), str(REPO / "webxr_client" / "node_modules" / "iwer")):
        if candidate and (Path(candidate) / "lib" / "device" / "configs" / "hand").is_dir():
            return Path(candidate).resolve()
    return None


def load_iwer_poses(iwer_dir: Path) -> tuple[dict[str, np.ndarray], str]:
    """IWER's hand poses as {name: (25, 4, 4) row-major matrices}, and the package version."""
    raw = subprocess.run(
        ["node", "--input-type=module", "-e", _NODE_DUMP, str(iwer_dir)], check=True, capture_output=True, text=True
    ).stdout
    poses = {
        name: np.array([np.array(joints[j]["offsetMatrix"], dtype=np.float64).reshape(4, 4).T for j in HAND_JOINTS])
        for name, joints in json.loads(raw).items()
    }
    version = json.loads((iwer_dir / "package.json").read_text())["version"]
    return poses, version


def _mat_to_quat(r: np.ndarray) -> np.ndarray:
    from server.realtime.hand_model import _mat_to_quat as m2q

    return m2q(r)


def _slerp(q0: np.ndarray, q1: np.ndarray, t: float) -> np.ndarray:
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot)
    omega = np.arccos(np.clip(dot, -1.0, 1.0))
    so = np.sin(omega)
    w0 = np.where(so > 1e-9, np.sin((1 - t) * omega) / np.where(so > 1e-9, so, 1), 1 - t)
    w1 = np.where(so > 1e-9, np.sin(t * omega) / np.where(so > 1e-9, so, 1), t)
    q = w0 * q0 + w1 * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def iwer_eval_set(poses: dict[str, np.ndarray], rng: np.random.Generator, n_world: int = 20, blends: bool = True):
    """IWER's poses for both sides under random world transforms: the three recorded keyframes only, or with
    `blends` also IWER's runtime blends towards pinch (which lerp joint positions, so mid-blend hands can have
    shortened or folded fingers no real hand makes)."""
    steps = np.linspace(0.0, 1.0, 11) if blends else np.array([0.0, 1.0])
    pos_l, rot_l, labels = [], [], []
    pinch = poses["pinch"]
    for base_name in ("relaxed", "point"):
        base = poses[base_name]
        for t in steps:
            if base_name == "point" and t == 1.0:
                continue  # identical to relaxed -> pinch at t = 1
            p = (1 - t) * base[:, :3, 3] + t * pinch[:, :3, 3]
            q = _slerp(_mat_to_quat(base[:, :3, :3]), _mat_to_quat(pinch[:, :3, :3]), t)
            pos_l.append(p)
            rot_l.append(q)
            labels.append(f"{base_name}->pinch {t:.1f}")
    pos_left, rot_left = np.array(pos_l), np.array(rot_l)
    # Right hand: IWER's mirror, x -> -x on positions, (x, y, z, w) -> (x, -y, -z, w) on rotations (= S R S).
    pos_right = pos_left * np.array((-1.0, 1.0, 1.0))
    rot_right = rot_left * np.array((1.0, -1.0, -1.0, 1.0))
    pos = np.concatenate([pos_left, pos_right])
    rot = np.concatenate([rot_left, rot_right])
    side = np.repeat([0, 1], len(pos_left))
    # Random rigid world transforms (a tracked hand can be anywhere, any way round).
    n = len(pos)
    q = rng.normal(size=(n_world, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    t = rng.uniform(-2, 2, size=(n_world, 3))
    from server.realtime.hand_model import _quat_to_mat

    rmat = _quat_to_mat(q)
    world_pos = np.einsum("wij,nkj->wnki", rmat, pos) + t[:, None, None]
    world_rot = quat_mul(q[:, None, None], rot[None])
    return (
        world_pos.reshape(-1, 25, 3),
        world_rot.reshape(-1, 25, 4),
        np.tile(side, n_world),
        labels * 2 * n_world,
        n,
    )


def wire_round_trip(pos: np.ndarray, rot: np.ndarray, side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """joints -> params -> 8-bit angles and scale -> params -> joints (wrist pose kept in float)."""
    p = hand_params_from_joints(pos, rot, side)
    p.angles = dequantize_angles(quantize_angles(p.angles))
    p.scale = dequantize_scale(quantize_scale(p.scale))
    return joints_from_hand_params(p, side)


def accuracy(pos: np.ndarray, rot: np.ndarray, side: np.ndarray) -> dict:
    rpos, rrot = wire_round_trip(pos, rot, side)
    err = np.linalg.norm(rpos - pos, axis=-1) * 1000.0
    tips = err[:, [THUMB_TIP, INDEX_TIP]]
    pinch = np.linalg.norm(pos[:, THUMB_TIP] - pos[:, INDEX_TIP], axis=-1) * 1000.0
    rpinch = np.linalg.norm(rpos[:, THUMB_TIP] - rpos[:, INDEX_TIP], axis=-1) * 1000.0
    dot = np.clip(np.abs(np.sum(rrot * rot, axis=-1)), 0.0, 1.0)
    rot_err = np.degrees(2 * np.arccos(dot))

    def stats(x: np.ndarray) -> dict:
        return {"mean": float(np.mean(x)), "p99": float(np.percentile(x, 99)), "max": float(np.max(x))}

    return {
        "hands": len(pos),
        "joint_pos_mm": stats(err),
        "tip_pos_mm (thumb, index)": stats(tips),
        "pinch_distance_error_mm": stats(np.abs(rpinch - pinch)),
        "joint_rot_deg": stats(rot_err),
        "per_joint_mean_mm": {name: float(v) for name, v in zip(HAND_JOINTS, err.mean(axis=0), strict=True)},
    }


def throughput(rng: np.random.Generator) -> dict:
    out = {}
    for batch in (1, 100, 1000):
        pos, rot, side, _ = synthetic_hand_poses(rng, batch, noise=True)
        p = hand_params_from_joints(pos, rot, side)
        reps = max(3, 5_000 // batch)
        t0 = time.perf_counter()
        for _ in range(reps):
            hand_params_from_joints(pos, rot, side)
        enc = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(reps):
            joints_from_hand_params(p, side)
        dec = time.perf_counter() - t0
        out[str(batch)] = {
            "encode_hands_per_s": reps * batch / enc,
            "decode_hands_per_s": reps * batch / dec,
            "encode_us_per_batch": enc / reps * 1e6,
            "decode_us_per_batch": dec / reps * 1e6,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iwer", help="directory of an installed npm package `iwer`")
    ap.add_argument("--out", default=str(REPO / "bench"), help="output directory (default: bench/)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(2026)
    result: dict = {
        "how": "python -m server.realtime.bench_hand_model; pipeline joints -> params -> uint8 -> joints",
        "machine": {"python": sys.version.split()[0], "numpy": np.__version__, "cpu": platform.processor() or "?"},
    }
    iwer_dir = find_iwer(args.iwer)
    if iwer_dir is None:
        print("IWER not found: pass --iwer DIR (npm install --prefix <dir> iwer); skipping real poses", file=sys.stderr)
        result["iwer"] = result["iwer_blends"] = None
    else:
        poses, version = load_iwer_poses(iwer_dir)
        pos, rot, side, _labels, n_unique = iwer_eval_set(poses, rng, blends=False)
        result["iwer"] = {"version": version, "unique_poses": n_unique, **accuracy(pos, rot, side)}
        pos, rot, side, _labels, n_unique = iwer_eval_set(poses, rng, blends=True)
        result["iwer_blends"] = {"version": version, "unique_poses": n_unique, **accuracy(pos, rot, side)}
    pos, rot, side, _ = synthetic_hand_poses(rng, 5000, noise=True)
    result["synthetic"] = accuracy(pos, rot, side)
    result["throughput"] = throughput(rng)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "hand_model.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "hand_model.md").write_text(markdown(result))
    print(markdown(result))
    return 0


def markdown(r: dict) -> str:
    lines = [
        "# Hand model benchmark",
        "",
        "Generated by `.venv/bin/python -m server.realtime.bench_hand_model --iwer <dir>`"
        " (see the docstring of the script).",
        "Pipeline: 25 joint poses -> `hand_params_from_joints` -> 8-bit angles and scale -> `joints_from_hand_params`;",
        "the wrist pose is kept in float here (its quantization belongs to the wire codec).",
        "",
        "## Accuracy",
        "",
        "| set | hands | joint pos mean / p99 / max (mm) | thumb+index tip mean / p99 / max (mm) |"
        " pinch distance error mean / p99 / max (mm) | joint rot mean / p99 / max (deg) |",
        "| --- | ---: | --- | --- | --- | --- |",
    ]
    for name in ("iwer", "iwer_blends", "synthetic"):
        a = r.get(name)
        if not a:
            lines.append(f"| {name} | - | not run | | | |")
            continue

        def f(k: str, a: dict = a) -> str:
            return f"{a[k]['mean']:.2f} / {a[k]['p99']:.2f} / {a[k]['max']:.2f}"

        if name == "synthetic":
            label = "synthetic (model + twist, off-axis bends, bone lengths, base jitter)"
        else:
            what = "keyframes relaxed/point/pinch" if name == "iwer" else "runtime blends towards pinch"
            label = f"IWER {a['version']} {what} ({a['unique_poses']} hands x world transforms)"
        lines.append(
            f"| {label} | {a['hands']} | {f('joint_pos_mm')} | {f('tip_pos_mm (thumb, index)')} |"
            f" {f('pinch_distance_error_mm')} | {f('joint_rot_deg')} |"
        )
    lines += ["", "## Throughput (one process, numpy, this machine)", "",
              "| batch | encode hands/s | decode hands/s | encode us/batch | decode us/batch |",
              "| ---: | ---: | ---: | ---: | ---: |"]
    for b, t in r["throughput"].items():
        lines.append(
            f"| {b} | {t['encode_hands_per_s']:,.0f} | {t['decode_hands_per_s']:,.0f} |"
            f" {t['encode_us_per_batch']:,.0f} | {t['decode_us_per_batch']:,.0f} |"
        )
    if r.get("iwer"):
        lines += ["", "## Mean position error per joint (mm)", "",
                  "| joint | IWER keyframes | IWER blends | synthetic |", "| --- | ---: | ---: | ---: |"]
        blends, synth = r["iwer_blends"]["per_joint_mean_mm"], r["synthetic"]["per_joint_mean_mm"]
        lines += [
            f"| {k} | {v:.2f} | {blends[k]:.2f} | {synth[k]:.2f} |" for k, v in r["iwer"]["per_joint_mean_mm"].items()
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
