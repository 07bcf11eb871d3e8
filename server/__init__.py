"""Plaza: real-time 3D store server (rooms, pose sync, commerce, try-on sizing)."""

__version__ = "0.1.0"
