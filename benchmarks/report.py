"""The figures as a Markdown table and as benchmarks/results/<UTC date>.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.floors import Floors
from benchmarks.wrk import WrkResult

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class ScenarioResult:
    key: str
    title: str
    floor_name: str
    floor_label: str
    floor_per_second: float
    connections: int
    server_cpus: str
    wrk: WrkResult | None = None
    server_cpu_cores: float | None = None  # CPU seconds the server used per second of the run
    server_rss_mb: float | None = None
    wrk_cpu_cores: float | None = None
    other_cpu_cores: float | None = None  # everything else on the machine: noise
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def server_cpu_ms_per_request(self) -> float | None:
        """Less sensitive to a busy machine than req/s: what one response cost the server in CPU."""
        if self.wrk is None or self.server_cpu_cores is None or not self.wrk.requests_per_second:
            return None
        return 1000 * self.server_cpu_cores / self.wrk.requests_per_second

    @property
    def ratio_per_cpu_second(self) -> float | None:
        cpu_ms = self.server_cpu_ms_per_request
        if not cpu_ms or not self.floor_per_second:
            return None
        return 1000 / cpu_ms / self.floor_per_second

    @property
    def ratio(self) -> float | None:
        if self.wrk is None or not self.floor_per_second:
            return None
        return self.wrk.requests_per_second / self.floor_per_second

    def as_dict(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "key": self.key,
            "title": self.title,
            "connections": self.connections,
            "server_cpus": self.server_cpus,
            "floor": {
                "name": self.floor_name,
                "label": self.floor_label,
                "per_second": round(self.floor_per_second, 1),
            },
            "ratio_to_floor": _rounded(ratio, 3),
            # Throughput per CPU-second of the server, over the floor: what the ratio would be if the
            # server had its CPUs to itself (argon2 floors count two threads, so only a guide for logins).
            "ratio_to_floor_per_server_cpu_second": _rounded(self.ratio_per_cpu_second, 3),
            "wrk": self.wrk.as_dict() if self.wrk else None,
            "server": {
                "cpu_cores_used": self.server_cpu_cores,
                "cpu_ms_per_request": _rounded(self.server_cpu_ms_per_request, 3),
                "rss_mb": self.server_rss_mb,
            },
            "wrk_cpu_cores_used": self.wrk_cpu_cores,
            "other_cpu_cores_used": self.other_cpu_cores,
            "notes": self.notes,
            "failures": self.failures,
        }


def markdown(floors: Floors, results: list[ScenarioResult]) -> str:
    lines = [
        "| endpoint | req/s | p50 ms | p99 ms | floor | floor/s | ratio to floor | server CPU | CPU ms/req | others |",
        "|---|---:|---:|---:|---|---:|---:|---|---:|---:|",
    ]
    for result in results:
        if result.wrk is None:
            lines.append(
                f"| {result.title} | failed | | | {result.floor_label} | {result.floor_per_second:,.0f} | | | |"
            )
            continue
        cores = f"{result.server_cpu_cores:.2f} cores" if result.server_cpu_cores is not None else "?"
        where = "pinned to CPU " + result.server_cpus if result.server_cpus != "all" else "all CPUs"
        lines.append(
            f"| {result.title} | {result.wrk.requests_per_second:,.0f} | {result.wrk.latency_ms['p50']:.1f}"
            f" | {result.wrk.latency_ms['p99']:.1f} | {result.floor_label} | {result.floor_per_second:,.0f}"
            f" | **{result.ratio:.2f}** | {cores} ({where}) | {result.server_cpu_ms_per_request or 0:.2f}"
            f" | {result.other_cpu_cores} |"
        )
    lines += [
        "",
        "| floor (in-process, same run) | per second |",
        "|---|---:|",
        *(f"| {name} | {value:,.1f} |" for name, value in floors.as_dict().items()),
    ]
    return "\n".join(lines)


def _rounded(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
