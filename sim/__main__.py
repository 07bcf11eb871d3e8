"""`python -m sim load ...` (bots in a room) and `python -m sim mocap ...` (stream a BVH file as VMC)."""

from __future__ import annotations

import sys

USAGE = """usage: python -m sim COMMAND [options]

commands:
  load    fill a room with bots that move like shoppers and report whether the server held
  mocap   stream a BVH motion-capture file to the server as VMC over UDP

python -m sim COMMAND --help shows the options of a command."""


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "load":
        from sim.load import main as load_main

        return load_main(rest)
    if command == "mocap":
        from sim.mocap_sender import main as mocap_main

        return mocap_main(rest)
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


raise SystemExit(main(sys.argv[1:]))
