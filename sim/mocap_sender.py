"""Stream a BVH file as VMC (OSC over UDP) to a Plaza server, so anyone can drive an avatar without a suit.

    python -m sim mocap --bvh clip.bvh --to 127.0.0.1:39539 --key KEY [--loop] [--rate 60]

The clip is retargeted to the 22-joint body once, then each frame goes out as one VMC bundle: the key
(/plaza/key), /VMC/Ext/Root/Pos, 22 x /VMC/Ext/Bone/Pos in Unity coordinates, /VMC/Ext/T and /VMC/Ext/OK,
with an NTP timetag so the server can drop late or reordered packets. Localhost only: this is a test and
demo tool, not a way to inject poses into someone else's server.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
import time
from collections.abc import Callable

from server.mocap.bvh import BvhError, LoopingTrack, load_bvh
from server.mocap.fk import body_offsets
from server.mocap.ingest import KEY_ADDRESS, make_track
from server.mocap.osc import encode_message, timetag_from_seconds
from server.mocap.retarget import RetargetError
from server.mocap.vmc import encode_body_bundle
from server.realtime.skeleton import REST_HEIGHT_M


def _destination(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"--to must be HOST:PORT, got {text!r}")
    host = host.strip("[]")
    if host == "localhost":
        host = "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise argparse.ArgumentTypeError(f"--to must be a loopback address (127.0.0.1 or ::1), got {host!r}")
    return host, int(port)


def bundles(track: LoopingTrack, key: str, rate: float, height_m: float, wall: Callable[[], float] = time.time):
    """Yield (send time offset, bundle bytes) for every frame of the stream (endless when the track loops)."""
    offsets = body_offsets(height_m)
    key_msg = encode_message(KEY_ADDRESS, [key])
    i = 0
    while True:
        t = i / rate
        if track.finished(t):
            return
        hips, rots = track.sample(t)
        yield t, encode_body_bundle(hips, rots, offsets, timetag_from_seconds(wall()), t, [key_msg])
        i += 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim mocap", description=__doc__.splitlines()[0])
    parser.add_argument("--bvh", required=True, help="BVH file to stream")
    parser.add_argument("--to", type=_destination, default=("127.0.0.1", 39539), help="HOST:PORT (loopback only)")
    parser.add_argument("--key", required=True, help="source key from POST /api/mocap/sources")
    parser.add_argument("--loop", action="store_true", help="loop the clip until interrupted")
    parser.add_argument("--rate", type=float, default=60.0, help="frames per second to send (1-240, default 60)")
    parser.add_argument("--height", type=float, default=REST_HEIGHT_M, help="performer height in metres")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    args = parser.parse_args(argv)
    if not 1.0 <= args.rate <= 240.0:
        parser.error("--rate must be between 1 and 240")
    try:
        track = make_track(load_bvh(args.bvh), args.height, args.loop)
    except (OSError, BvhError, RetargetError) as exc:
        print(f"mocap sender: cannot use {args.bvh}: {exc}", file=sys.stderr)
        return 1
    sock = socket.socket(socket.AF_INET6 if ":" in args.to[0] else socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    start = time.monotonic()
    try:
        for t, packet in bundles(track, args.key, args.rate, args.height):
            if args.seconds is not None and t >= args.seconds:
                break
            delay = start + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sock.sendto(packet, args.to)
            sent += 1
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print(f"mocap sender: sent {sent} VMC bundles to {args.to[0]}:{args.to[1]} in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
