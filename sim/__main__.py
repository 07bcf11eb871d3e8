"""`python -m sim load ...` (bots in a room), `mocap ...` (stream a BVH file as VMC), `failover ...` (kill a node),
`outage ...` (Redis restart, partition)."""

from __future__ import annotations

import sys

USAGE = """usage: python -m sim COMMAND [options]

commands:
  load    fill a room with bots that move like shoppers and report whether the server held
  mocap   stream a BVH motion-capture file to the server as VMC over UDP
  cluster   start N nodes on one Redis, fill R rooms with bots, report per room and per node
  failover  start several nodes on one Redis, kill -9 one mid-session, measure the shoppers' way back
  outage    restart Redis under a running cluster, then cut one node off from it, and measure what shoppers see

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
    if command == "cluster":
        from sim.cluster_load import main as cluster_main

        return cluster_main(rest)
    if command == "failover":
        from sim.failover import main as failover_main

        return failover_main(rest)
    if command == "outage":
        from sim.outage import main as outage_main

        return outage_main(rest)
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


raise SystemExit(main(sys.argv[1:]))
