"""Tests for the pure parts of the growth benchmark: the flatness verdict, its table, the filler values."""

from __future__ import annotations

from typing import Any

from benchmarks.growth import FLAT, _hex_strings, flatness, markdown


def _step(stored: int, p50: float | None, p99: float = 100.0, rate: float = 500.0) -> dict[str, Any]:
    run: dict[str, Any] = {
        "key": f"refresh_token_rotation_at_{stored}",
        "wrk": None
        if p50 is None
        else {"requests_per_second": rate, "latency_ms": {"p50": p50, "p90": p99, "p99": p99}},
        "server": {"cpu_ms_per_request": 2.0},
        "other_cpu_cores_used": 0.05,
        "notes": [],
        "failures": [] if p50 is not None else ["socket errors {'connect': 32}"],
    }
    return {"stored_refresh_tokens": stored, "users": 1_000_064, "run": run}


def test_flat_when_p50_at_the_largest_size_is_within_twenty_percent_of_the_smallest() -> None:
    steps = [_step(10_000, 50.0), _step(1_000_000, 55.0, rate=480.0), _step(10_000_000, 59.0, p99=120.0, rate=450.0)]
    verdict = flatness(steps)
    assert verdict is not None
    assert (verdict["from"], verdict["to"]) == (10_000, 10_000_000)
    assert verdict["p50_ratio"] == 1.18
    assert verdict["p99_ratio"] == 1.2
    assert verdict["throughput_ratio"] == 0.9
    assert verdict["flat"] is True
    assert FLAT == 1.2


def test_not_flat_past_twenty_percent_and_failed_steps_are_left_out() -> None:
    verdict = flatness([_step(10_000, 50.0), _step(1_000_000, 61.0), _step(10_000_000, None)])
    assert verdict is not None
    assert (verdict["to"], verdict["p50_ratio"], verdict["flat"]) == (1_000_000, 1.22, False)
    assert flatness([_step(10_000, 50.0), _step(10_000_000, None)]) is None  # one figure is no trend


def test_the_table_has_a_row_per_size_and_the_verdict() -> None:
    document = {"steps": [_step(10_000, 50.0), _step(10_000_000, None)], "flatness": None}
    lines = markdown(document).splitlines()
    assert lines[2] == "| 10,000 | 1,000,064 | 500 | 50.0 | 100.0 | 2.00 | 0.05 |"
    assert lines[3] == "| 10,000,000 | 1,000,064 | failed | | | | |"
    assert "- **refresh_token_rotation_at_10000000 failed**: socket errors {'connect': 32}" in lines


def test_filler_values_are_distinct_hex_strings_of_the_asked_size() -> None:
    values = _hex_strings(1000, 16)
    assert len(values) == 1000
    assert len(set(values)) == 1000
    assert all(len(value) == 32 and int(value, 16) >= 0 for value in values)
