"""The pure helpers of bench/versus.py (the Plaza vs Colyseus benchmark). Nothing here runs a server
or measures speed: the benchmark's figures are in bench/versus.md, never asserted."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "bench" / "versus.py"
_spec = importlib.util.spec_from_file_location("bench_versus", _PATH)
versus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(versus)


def _stat_line(comm: str, utime: int, stime: int) -> str:
    # pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime ...
    return f"4242 ({comm}) S 1 4242 4242 0 -1 4194560 1200 0 3 0 {utime} {stime} 7 9 20 0 1 0 100 0 0\n"


def test_proc_stat_fields_14_and_15():
    assert versus.parse_proc_stat(_stat_line("python", 1234, 56)) == (1234, 56)


def test_proc_stat_command_names_with_spaces_and_parentheses():
    # The command name is whatever the process set, ')' and spaces included; fields count from the last ')'.
    assert versus.parse_proc_stat(_stat_line("node (x) y) z", 10, 20)) == (10, 20)


def test_proc_stat_refuses_what_is_not_a_stat_line():
    with pytest.raises(ValueError):
        versus.parse_proc_stat("no parentheses here 1 2 3")
    with pytest.raises(ValueError):
        versus.parse_proc_stat("12 (python) S 1 2")


def test_proc_stat_cpu_totals_and_busy_share():
    before = versus.parse_cpu_totals("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\nintr 1\n")
    assert before == (850, 1000)
    after = versus.parse_cpu_totals("cpu  400 0 150 1200 50 0 0 0 0 0\n")
    assert after == (1250, 1800)
    assert versus.busy_share(before, after) == pytest.approx(0.5)  # 400 of 800 jiffies idle
    assert versus.busy_share(after, after) is None
    with pytest.raises(ValueError):
        versus.parse_cpu_totals("intr 1 2 3\n")


def test_paired_ratios_pair_by_repetition_and_skip_missing_ones():
    plaza = {0: 80.0, 1: 60.0, 2: 90.0, 3: 50.0}
    colyseus = {0: 40.0, 1: 40.0, 3: 0.0}  # rep 2 failed, rep 3 has no divisor
    assert versus.paired_ratios(plaza, colyseus) == [2.0, 1.5]


def test_median_of_paired_ratios_is_not_the_ratio_of_medians():
    plaza = {0: 100.0, 1: 50.0, 2: 60.0}
    colyseus = {0: 25.0, 1: 50.0, 2: 60.0}
    ratios = versus.paired_ratios(plaza, colyseus)
    assert versus.median(ratios) == 1.0
    assert versus.median(list(plaza.values())) / versus.median(list(colyseus.values())) == pytest.approx(1.2)


def test_median_ignores_missing_values():
    assert versus.median([3.0, None, 1.0, 2.0]) == 2.0
    assert versus.median([None]) is None
    assert versus.median([]) is None


def test_us_per_snapshot():
    assert versus.us_per_snapshot(1.5, 30_000) == pytest.approx(50.0)
    assert versus.us_per_snapshot(1.5, 0) is None


def test_flags_name_a_saturated_generator_slow_delivery_and_disconnects():
    assert versus.run_flags(0.5, 59.9) == []
    assert versus.run_flags(0.81, 59.9) == ["generator > 80% of a core"]
    assert versus.run_flags(0.2, 57.9) == ["delivery < 58 Hz"]
    assert versus.run_flags(0.2, None) == ["delivery < 58 Hz"]
    assert versus.run_flags(0.9, 40.0, disconnects=3) == [
        "generator > 80% of a core", "delivery < 58 Hz", "3 disconnects"]


def test_runs_interleave_sizes_and_alternate_which_server_goes_first():
    order = versus.interleaved_order(2, [50, 100])
    assert order == [
        (0, 50, "plaza"), (0, 50, "colyseus"),
        (0, 100, "colyseus"), (0, 100, "plaza"),
        (1, 50, "plaza"), (1, 50, "colyseus"),
        (1, 100, "colyseus"), (1, 100, "plaza"),
    ]
    # every (rep, size) has both servers, each once
    assert len(set(order)) == len(order) == 2 * 2 * 2


def test_summary_rows_take_medians_and_the_paired_ratio():
    def run(server, clients, rep, us, hz=59.9, gen=0.2):
        return {
            "server": server, "clients": clients, "rep": rep, "us_per_snapshot": us,
            "us_user_per_snapshot": us * 0.7, "us_sys_per_snapshot": us * 0.3, "server_cpu": {"share": 0.5},
            "flags": versus.run_flags(gen, hz), "machine_busy_share": 0.9, "load_average": [3.0, 2.0, 1.0],
            "generator": {"bytes_per_avatar_per_tick": 22.5 if server == "plaza" else 112.0,
                          "receive_hz": {"mean": hz, "p5": hz}, "upload_hz": 60.0,
                          "rtt_ms": {"p50": 1.0, "p99": 20.0}, "snapshot_gap_ms": {"p99": 30.0},
                          "generator_cpu": {"share": gen}},
        }

    runs = [run("plaza", 50, 0, 80.0), run("colyseus", 50, 0, 40.0),
            run("plaza", 50, 1, 90.0, hz=50.0), run("colyseus", 50, 1, 45.0)]
    (row,) = versus.summarize(runs, [50])
    assert row["ratio_median"] == 2.0
    assert row["plaza"]["us_per_snapshot"] == 85.0
    assert row["plaza"]["flagged_reps"] == 1
    assert row["plaza"]["flags"] == ["delivery < 58 Hz"]
    assert row["colyseus"]["flagged_reps"] == 0
    assert row["colyseus"]["bytes_per_avatar_per_tick"] == 112.0
    assert row["plaza"]["machine_busy_share"] == 0.9
    markdown = versus.render_markdown(
        {"versions": {}, "command": "python bench/versus.py", "reps": 2, "seconds": 20.0, "warmup": 5.0,
         "machine": "test", "load_before": [1, 1, 1], "load_after": [1, 1, 1], "date": "today"}, [row], runs)
    assert "| 50 | 85 | 42 | 2.00 | 22.5 / 112.0 | 1/2 / 0/2 |" in markdown
