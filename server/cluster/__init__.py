"""Many nodes on Redis: the room directory, node heartbeats, placement, cross-node messages (docs/SCALING.md)."""
