"""Where `make bench` results go and how a Markdown benchmark report is published (printed, and written to
bench/<name>.md unless the run is print-only)."""

from __future__ import annotations

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"


def publish(lines: list[str], name: str, write: bool = True) -> int:
    """Prints the report and (with `write`) keeps it as bench/<name>.md; the exit status of the command."""
    text = "\n".join(lines) + "\n"
    print(text)
    if write:
        (BENCH_DIR / f"{name}.md").write_text(text, encoding="utf-8")
    return 0
