"""Tests for the pure parts of the memory benchmark: the verdict on idle RSS and on growth, its table."""

from __future__ import annotations

from typing import Any

from benchmarks.memory import GROWTH_TOLERANCE_MB, IDLE_GOAL_MB, markdown, verdict


def _samples(*points: tuple[int, float]) -> list[dict[str, Any]]:
    return [{"requests": requests, "rss_mb": rss, "requests_per_second": 600.0} for requests, rss in points]


def test_growth_is_counted_from_the_first_round_not_from_idle() -> None:
    """The first round fills imports, caches and pools; what comes after it is growth."""
    found = verdict(91.0, _samples((50_000, 97.0), (500_000, 98.0), (1_000_000, 99.0)))
    assert found["idle_met"] is True
    assert (found["warm_rss_mb"], found["final_rss_mb"], found["growth_mb"]) == (97.0, 99.0, 2.0)
    assert found["growth_bytes_per_request"] == round(2.0 * 1024 * 1024 / 950_000, 1)
    assert found["flat"] is True


def test_more_than_the_tolerance_grows_and_a_heavy_idle_misses_its_goal() -> None:
    found = verdict(IDLE_GOAL_MB + 5, _samples((50_000, 100.0), (1_000_000, 100.0 + GROWTH_TOLERANCE_MB + 0.5)))
    assert found["idle_met"] is False
    assert found["flat"] is False


def test_one_round_gives_no_growth_figure() -> None:
    assert "growth_mb" not in verdict(90.0, _samples((20_000, 95.0)))


def test_the_summary_states_both_verdicts() -> None:
    samples = _samples((50_000, 97.0), (1_000_000, 99.0))
    document = {
        "idle_rss_mb": 91.0,
        "endpoint": "client_credentials (ES256)",
        "samples": samples,
        "verdict": verdict(91.0, samples),
        "failures": [],
    }
    text = markdown(document)
    assert text.startswith("Idle RSS: **91.0 MB** (goal: under 100 MB: met).")
    assert "97.0 MB after the first round, 99.0 MB at the end: +2.0 MB" in text
    assert "within 10 MB: flat" in text
    assert "| 1,000,000 | 99.0 | 600 |" in text
