"""Tests for the pure parts of `make bench`: reading wrk's output, ratios, goals, choosing scenarios, the summary.

Nothing here times anything: the benchmarks themselves run with `make bench`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from benchmarks.report import SCHEMA, ScenarioResult, compare, disturbed, goals, ratio, side_by_side, summary_markdown
from benchmarks.scenarios import ASGI_FLOOR_KEY, ENDPOINTS, SCENARIO_KEYS, build, select
from benchmarks.seed import Seeded
from benchmarks.wrk import parse_output

from benchmarks import run

WRK_LINE = (
    'BENCH_RESULT {"requests":12079,"duration_us":5030000,"bytes":9720000,'
    '"errors":{"connect":0,"read":2,"write":0,"timeout":1},'
    '"statuses":{"200":12070,"400":9},"exhausted":0,"unexpected_sample":"400 {\\"error\\":\\"invalid_grant\\"}",'
    '"latency_us":{"p50":16300,"p90":40120,"p99":206351,"max":411430,"mean":17690.5}}'
)


def test_reads_the_result_line_among_wrk_output() -> None:
    """The script's one JSON line is found among wrk's own lines and read into counts and milliseconds."""
    stdout = f"Running 5s test @ http://127.0.0.1:8000/token\n  2 threads and 32 connections\n{WRK_LINE}\n"
    result = parse_output(stdout)
    assert result is not None
    assert result.requests == 12079
    assert result.seconds == pytest.approx(5.03)
    assert result.requests_per_second == pytest.approx(12079 / 5.03)
    assert result.statuses == {200: 12070, 400: 9}
    assert result.socket_errors == {"read": 2, "timeout": 1}  # the zero counts are left out
    assert result.unexpected({200}) == {400: 9}
    assert result.unexpected_sample == '400 {"error":"invalid_grant"}'
    assert result.latency_ms == {"p50": 16.3, "p90": 40.12, "p99": 206.35, "max": 411.43, "mean": 17.69}


def test_wrk_output_without_the_result_line_is_no_result() -> None:
    """wrk that failed before done() (a refused connection, a Lua error) yields None, not a zero result."""
    assert parse_output("unable to connect to 127.0.0.1:1 Connection refused\n") is None


def test_ratio_needs_both_figures_and_a_positive_denominator() -> None:
    assert ratio(1500.0, 1000.0) == 1.5
    assert ratio(None, 1000.0) is None
    assert ratio(1500.0, None) is None
    assert ratio(1500.0, 0.0) is None


def _scenario(
    key: str, rate: float | None, *, cpu_ms: float = 1.0, floor: float | None = 2000.0, others: float = 0.0
) -> dict[str, Any]:
    endpoint = key.removeprefix("peer_")
    return {
        "key": key,
        "title": ENDPOINTS.get(endpoint, key),
        "endpoint": endpoint,
        "implementation": "oidc-provider" if key.startswith("peer_") else "passportoffice",
        "connections": 32,
        "server_cpus": "0",
        "floor": {"name": "f", "label": "a floor", "per_second": floor} if floor is not None else None,
        "ratio_to_floor": rate / floor if rate is not None and floor else None,
        "wrk": None
        if rate is None
        else {"requests_per_second": rate, "latency_ms": {"p50": 10.0, "p90": 20.0, "p99": 30.0}},
        "server": {"cpu_cores_used": 1.0, "cpu_ms_per_request": cpu_ms, "rss_mb": 90.0, "idle_rss_mb": 80.0},
        "other_cpu_cores_used": others,
        "notes": [],
        "failures": [] if rate is not None else ["the check request before the run failed: status 500"],
    }


def test_compares_ours_with_the_peer_by_throughput_and_by_cpu() -> None:
    """ours/peer is the ratio of requests per second; per CPU-second it is the peer's CPU per request over ours."""
    scenarios = [
        _scenario("client_credentials_es256", 3000.0, cpu_ms=0.3, floor=20000.0),
        _scenario("peer_client_credentials_es256", 1500.0, cpu_ms=0.6, floor=20000.0),
    ]
    [entry] = compare(scenarios, ENDPOINTS)
    assert entry["endpoint"] == "client_credentials_es256"
    assert (entry["ours"], entry["peer"]) == ("client_credentials_es256", "peer_client_credentials_es256")
    assert entry["ratio_to_peer"] == 2.0
    assert entry["ratio_to_peer_per_cpu_second"] == 2.0
    assert entry["ours_ratio_to_floor"] == 0.15
    assert entry["peer_ratio_to_floor"] == 0.075
    assert [(goal["value"], goal["met"]) for goal in entry["goals"]] == [(2.0, True), (3000.0, True)]


def test_a_failed_run_has_no_ratio() -> None:
    """A run that failed (an unexpected status, a failed check) is not throughput: no ratio, no goal met."""
    scenarios = [_scenario("refresh_token_rotation", 400.0), _scenario("peer_refresh_token_rotation", None)]
    [entry] = compare(scenarios, ENDPOINTS)
    assert entry["ratio_to_peer"] is None
    assert entry["ratio_to_peer_per_cpu_second"] is None
    assert entry["ours_ratio_to_floor"] == 0.2
    assert entry["peer_ratio_to_floor"] is None
    assert [goal["met"] for goal in entry["goals"]] == [None, False]  # 400/s is under 10x Keycloak's 120/s


def test_goals_follow_the_issue() -> None:
    """Token endpoints: 1.5x the peer and 10x Keycloak's 120/s per vCPU; logins: 0.9x the argon2id floor."""
    cc = goals("client_credentials_rs256", 1100.0, 1.6, 0.4)
    assert [(goal["target"], goal["met"]) for goal in cc] == [(1.5, True), (1200.0, False)]
    login = goals("password_login", 30.0, None, 0.85)
    assert [(goal["target"], goal["met"]) for goal in login] == [(0.9, False)]
    assert goals("jwks", 5000.0, 1.2, 0.8) == []


def test_endpoints_measured_on_one_side_only_are_listed_without_a_ratio() -> None:
    """Logins have no peer row; an endpoint on neither side is left out."""
    entries = compare([_scenario("password_login", 30.0, floor=40.0)], ENDPOINTS)
    assert [(entry["endpoint"], entry["peer"], entry["ratio_to_peer"]) for entry in entries] == [
        ("password_login", None, None)
    ]


def test_disturbed_runs_are_named() -> None:
    scenarios = [_scenario("jwks", 2000.0, others=0.5), _scenario("peer_jwks", 2500.0, others=0.1)]
    assert disturbed(scenarios) == ["jwks"]


def _seeded(tmp_path: Path) -> Seeded:
    for name in ("cc.txt", "refresh.txt", "logins.txt"):
        (tmp_path / name).write_text("grant_type=client_credentials\n")
    return Seeded(
        tag="t",
        service_client_id="bench-service-t",
        service_secret="s",
        service_scopes=("api.read", "api.write"),
        basic_authorization="Basic YTpi",
        app_client_id="bench-app-t",
        user_id="u",
        csrf_cookie="c=1",
        client_credentials_body=tmp_path / "cc.txt",
        refresh_bodies=tmp_path / "refresh.txt",
        login_bodies=tmp_path / "logins.txt",
        refresh_check="grant_type=refresh_token",
        login_check="request_id=x",
    )


def test_choosing_discovery_brings_its_served_floor_and_the_peer(tmp_path: Path) -> None:
    """--only discovery also measures the ASGI floor it is compared with, first; the peer's row is separate."""
    scenarios = build(_seeded(tmp_path), tmp_path)
    assert [s.key for s in scenarios] == list(SCENARIO_KEYS)
    chosen = select(scenarios, ["discovery", "peer_discovery"], with_peer=True)
    assert [s.key for s in chosen] == [ASGI_FLOOR_KEY, "discovery", "peer_discovery"]
    without_peer = select(scenarios, None, with_peer=False)
    assert ASGI_FLOOR_KEY in {s.key for s in without_peer}
    assert not [s.key for s in without_peer if s.key.startswith("peer_")]


def test_phases_start_ours_and_the_peer_together_and_keep_the_order(tmp_path: Path) -> None:
    """Each endpoint runs on ours and then on the peer while both are up; logins run alone on every CPU."""
    phases = run._phases(build(_seeded(tmp_path), tmp_path))
    assert [[setup.name for setup in setups] for setups, _ in phases] == [
        ["asgi-floor", "es256", "peer-es256"],
        ["rs256", "peer-rs256"],
        ["all-cpus"],
    ]
    assert [s.key for s in phases[1][1]] == ["client_credentials_rs256", "peer_client_credentials_rs256"]
    assert {setup.cpus for setups, _ in phases[:2] for setup in setups} == {"0"}


def _document() -> dict[str, Any]:
    scenarios = [
        _scenario("client_credentials_es256", 3000.0, cpu_ms=0.3, floor=20000.0),
        _scenario("peer_client_credentials_es256", 1500.0, cpu_ms=0.6, floor=20000.0, others=0.4),
    ]
    return {
        "schema": SCHEMA,
        "started_at": "2026-12-04T08:00:00+00:00",
        "quick": False,
        "machine": {
            "cpu_model": "Test CPU",
            "nproc": 2,
            "python": "3.11.7",
            "git": "abc1234",
            "load_average_at_start": [0.1, 0.1, 0.1],
            "load_average_at_end": [1.0, 0.5, 0.2],
            "peer": {"node": "20.20.2", "oidc-provider": "9.13.3"},
        },
        "load": {"duration_s": 10.0, "connections": 32, "threads": 2},
        "database": "sqlite",
        "pinning": {"server_cpu": 0, "wrk_cpus": "1"},
        "notes": [],
        "floors": {"es256_sign": 20000.0},
        "scenarios": scenarios,
        "comparisons": compare(scenarios, ENDPOINTS),
        "guard": None,
        "elapsed_seconds": 100.0,
    }


def test_the_summary_puts_ours_beside_the_peer_and_flags_disturbed_runs() -> None:
    document = _document()
    row = side_by_side(document).splitlines()[2]
    assert row.startswith("| client_credentials (ES256) | 3,000 | 1,500 | **2.00x** | 2.00x |")
    summary = summary_markdown(json.loads(json.dumps(document)), [Path("2026-12-04-throughput.png")])
    assert "Node.js 20.20.2, oidc-provider 9.13.3" in summary
    assert "**Disturbed**" in summary and "(peer_client_credentials_es256)" in summary
    assert "![2026-12-04-throughput](2026-12-04-throughput.png)" in summary


def test_charts_are_written_as_png(tmp_path: Path) -> None:
    """The three charts are made from the JSON document alone, as PNG files beside it."""
    from benchmarks.charts import write_charts

    written = write_charts(_document(), tmp_path / "2026-12-04")
    assert [path.name for path in written] == [
        "2026-12-04-throughput.png",
        "2026-12-04-latency.png",
        "2026-12-04-memory.png",
    ]
    assert all(path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for path in written)


def test_a_served_floor_is_compared_per_cpu_second_with_its_own_server() -> None:
    """Against the ASGI floor, CPU per response is compared with the floor server's, not with its wall rate."""
    line = WRK_LINE.replace('"requests":12079,"duration_us":5030000', '"requests":20000,"duration_us":5e6')
    result = ScenarioResult(
        key="jwks",
        title="JWK Set",
        endpoint="jwks",
        implementation="passportoffice",
        floor_name="asgi_minimal_json",
        floor_label="minimal JSON",
        floor_per_second=5000.0,  # the floor server was not saturated: a busy machine
        connections=32,
        server_cpus="0",
        floor_per_cpu_second=10000.0,
        wrk=parse_output(line),
        server_cpu_cores=0.8,  # 4000 req/s on 0.8 cores: 5000 per CPU-second
    )
    assert result.ratio == pytest.approx(0.8)
    assert result.ratio_per_cpu_second == pytest.approx(0.5)


def test_a_full_run_replaces_only_the_results_block_of_the_docs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs" / "benchmarks.md"
    docs.parent.mkdir()
    docs.write_text(f"# Benchmarks\n\nbefore\n\n{run.DOCS_START}\nold figures\n{run.DOCS_END}\n\nafter\n")
    monkeypatch.setattr(run, "DOCS", docs)
    monkeypatch.setattr(run, "REPO", tmp_path)
    results = tmp_path / "benchmarks" / "results"
    path = results / "2026-12-04.json"
    run._update_docs(path, _document(), [path, results / "2026-12-04.md", results / "2026-12-04-throughput.png"])
    text = docs.read_text()
    assert text.startswith("# Benchmarks\n\nbefore\n\n<!-- results:start -->\nLast full run: 2026-12-04T08:00:00")
    assert "old figures" not in text
    assert "[summary](../benchmarks/results/2026-12-04.md)" in text
    assert "| client_credentials (ES256) | 3,000 | 1,500 | **2.00x**" in text
    assert "![2026-12-04-throughput](../benchmarks/results/2026-12-04-throughput.png)\n<!-- results:end -->" in text
    assert text.endswith("<!-- results:end -->\n\nafter\n")
