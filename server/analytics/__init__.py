"""Store analytics from the server's own data (docs/OPERATIONS.md)."""
