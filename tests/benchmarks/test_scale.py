"""Tests for the pure parts of the scale-out benchmark: speed-ups, the table, the chart, nginx's config,
and the process-tree accounting (on this test's own process tree)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.processes import tree, tree_cpu_seconds, tree_rss_mb
from benchmarks.report import summary_markdown
from benchmarks.scale import nginx_config, scale_markdown, speedup, write_scale_chart


def _run(endpoint: str, configuration: str, rate: float | None, workers: int = 1) -> dict[str, Any]:
    return {
        "key": f"{endpoint}@{configuration}",
        "configuration": configuration,
        "instances": 2 if configuration.startswith("nginx") else 1,
        "workers": workers,
        "wrk": None if rate is None else {"requests_per_second": rate, "latency_ms": {"p50": 10.0, "p99": 40.0}},
        "server": {"cpu_ms_per_request": 1.25},
        "failures": [] if rate is not None else ["socket errors {'connect': 32}"],
        "processes": {"idle": [{"pid": 1, "kind": "worker", "rss_mb": 80.0}], "after": []},
    }


def _scale() -> dict[str, Any]:
    runs = [
        _run("client_credentials_es256", "workers-1", 400.0),
        _run("client_credentials_es256", "workers-2", 700.0, workers=2),
        _run("client_credentials_es256", "nginx-2-instances", None),
    ]
    return {
        "configurations": ["workers-1", "workers-2", "nginx-2-instances"],
        "runs": runs,
        "speedup": speedup(runs),
        "usable_cpus": 2,
        "redis": True,
        "notes": ["a note"],
        "failures": ["client_credentials_es256@nginx-2-instances: socket errors"],
    }


def test_speedup_is_each_configuration_over_one_worker_and_none_for_a_failed_run() -> None:
    assert speedup(_scale()["runs"]) == {
        "client_credentials_es256": {"workers-1": 1.0, "workers-2": 1.75, "nginx-2-instances": None}
    }


def test_table_has_a_column_per_configuration_and_says_what_failed() -> None:
    table = scale_markdown(_scale())
    assert "| endpoint | 1 worker | 2 workers | 2 instances behind nginx |" in table
    assert "| client_credentials (ES256) | 400/s (x1.00)" in table
    assert "700/s (x1.75), 1.25 CPU ms, p50/p99 10.0/40.0 ms | failed |" in table
    assert "one PostgreSQL and Redis database" in table
    assert "- **failed**: client_credentials_es256@nginx-2-instances: socket errors" in table


def test_summary_and_chart_include_the_scale_section(tmp_path: Path) -> None:
    document: dict[str, Any] = {
        "started_at": "2026-12-04T08:00:00+00:00",
        "machine": {"cpu_model": "cpu", "nproc": 2, "python": "3.11", "git": "abc", "load_average_at_start": [1]},
        "load": {"threads": 2, "connections": 32, "duration_s": 3},
        "database": "sqlite",
        "floors": {},
        "scenarios": [],
        "scale": _scale(),
    }
    assert "## Scale-out: workers and instances on one PostgreSQL database" in summary_markdown(document, [])
    chart = write_scale_chart(document["scale"], tmp_path / "scale.png")
    assert chart is not None and chart.read_bytes().startswith(b"\x89PNG")


def test_nginx_config_proxies_to_every_instance_on_loopback_in_the_foreground(tmp_path: Path) -> None:
    config = nginx_config(18000, [18001, 18002], tmp_path)
    assert "daemon off;" in config
    assert "listen 127.0.0.1:18000;" in config
    assert "server 127.0.0.1:18001;" in config and "server 127.0.0.1:18002;" in config
    assert f"pid {tmp_path / 'nginx.pid'};" in config
    assert 'proxy_set_header Connection "";' in config  # keep-alive to the upstreams


def test_process_tree_counts_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        pids = tree(os.getpid())
        assert pids[0] == os.getpid() and child.pid in pids
        assert tree_rss_mb(os.getpid()) > tree_rss_mb(child.pid) > 0
        assert tree_cpu_seconds(os.getpid()) > 0
    finally:
        child.kill()
        child.wait()
