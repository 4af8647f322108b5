"""The figures: benchmarks/results/<UTC date>.json, and the Markdown summary made from it.

The JSON document is the record; the Markdown summary and the charts (`charts.py`) are derived from it
alone, so `python -m benchmarks.report benchmarks/results/<date>.json` remakes them from a stored run.
Ratios to the peer and to floors are computed here (`compare`, `ratio`), from the stored figures.

    python -m benchmarks.report benchmarks/results/2026-12-04.json    # rewrites <date>.md and the PNGs
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.wrk import WrkResult

RESULTS = Path(__file__).resolve().parent / "results"
SCHEMA = 2
# From issue 6: the token endpoint at least 1.5x oidc-provider per core at the same algorithm, and at
# least 10x Keycloak's published sizing (120 client credentials grants or refreshes per second per vCPU).
GOAL_TO_PEER = 1.5
KEYCLOAK_PER_VCPU = 120.0
GOAL_TO_KEYCLOAK = 10.0
TOKEN_ENDPOINTS = ("client_credentials_es256", "refresh_token_rotation", "client_credentials_rs256")
GOAL_LOGIN_TO_FLOOR = 0.9
# CPU used by anything but the server and wrk, in cores, above which a figure is flagged as disturbed.
DISTURBED = 0.2


@dataclass
class ScenarioResult:
    key: str
    title: str
    endpoint: str
    implementation: str
    floor_name: str | None
    floor_label: str
    floor_per_second: float
    connections: int
    server_cpus: str
    floor_per_cpu_second: float | None = None  # a served floor, per second of its server's CPU
    wrk: WrkResult | None = None
    server_cpu_cores: float | None = None  # CPU seconds the server used per second of the run
    server_rss_mb: float | None = None  # right after the run
    server_idle_rss_mb: float | None = None  # once ready, before any load
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
        floor = self.floor_per_cpu_second or self.floor_per_second
        if not cpu_ms or not floor:
            return None
        return 1000 / cpu_ms / floor

    @property
    def ratio(self) -> float | None:
        if self.wrk is None or not self.floor_per_second:
            return None
        return self.wrk.requests_per_second / self.floor_per_second

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "endpoint": self.endpoint,
            "implementation": self.implementation,
            "connections": self.connections,
            "server_cpus": self.server_cpus,
            "floor": {
                "name": self.floor_name,
                "label": self.floor_label,
                "per_second": round(self.floor_per_second, 1),
                "per_cpu_second": _rounded(self.floor_per_cpu_second, 1),
            }
            if self.floor_name
            else None,
            "ratio_to_floor": _rounded(self.ratio, 3),
            # Throughput per CPU-second of the server, over the floor (per CPU-second of its server, for a
            # served floor): what the ratio would be if each had its CPU to itself (argon2 floors count two
            # threads, so only a guide for logins).
            "ratio_to_floor_per_server_cpu_second": _rounded(self.ratio_per_cpu_second, 3),
            "wrk": self.wrk.as_dict() if self.wrk else None,
            "server": {
                "cpu_cores_used": self.server_cpu_cores,
                "cpu_ms_per_request": _rounded(self.server_cpu_ms_per_request, 3),
                "rss_mb": self.server_rss_mb,
                "idle_rss_mb": self.server_idle_rss_mb,
            },
            "wrk_cpu_cores_used": self.wrk_cpu_cores,
            "other_cpu_cores_used": self.other_cpu_cores,
            "notes": self.notes,
            "failures": self.failures,
        }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is not positive."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def requests_per_second(scenario: dict[str, Any] | None) -> float | None:
    """A scenario's throughput, or None if it failed: a failed run's rate is not throughput."""
    if scenario is None or scenario.get("failures") or not scenario.get("wrk"):
        return None
    return float(scenario["wrk"]["requests_per_second"])


def cpu_ms_per_request(scenario: dict[str, Any] | None) -> float | None:
    if requests_per_second(scenario) is None:
        return None
    assert scenario is not None
    value = scenario["server"]["cpu_ms_per_request"]
    return float(value) if value else None


def compare(scenarios: list[dict[str, Any]], endpoints: dict[str, str]) -> list[dict[str, Any]]:
    """Per endpoint, ours beside the peer: the ratio ours/peer, by throughput and by server CPU per request.

    The CPU ratio is peer CPU-ms per request over ours: how many of ours one core serves per peer
    response. It holds better than req/s on a busy machine, where the pinned core is shared.
    """
    by_key = {scenario["key"]: scenario for scenario in scenarios}
    found = []
    for endpoint, title in endpoints.items():
        ours, peer = by_key.get(endpoint), by_key.get(f"peer_{endpoint}")
        if ours is None and peer is None:
            continue
        ours_rate, peer_rate = requests_per_second(ours), requests_per_second(peer)
        entry: dict[str, Any] = {
            "endpoint": endpoint,
            "title": title,
            "ours": endpoint if ours else None,
            "peer": f"peer_{endpoint}" if peer else None,
            "ratio_to_peer": _rounded(ratio(ours_rate, peer_rate), 3),
            "ratio_to_peer_per_cpu_second": _rounded(ratio(cpu_ms_per_request(peer), cpu_ms_per_request(ours)), 3),
            "ours_ratio_to_floor": _floor_ratio(ours),
            "peer_ratio_to_floor": _floor_ratio(peer),
        }
        entry["goals"] = goals(endpoint, ours_rate, entry["ratio_to_peer"], entry["ours_ratio_to_floor"])
        found.append(entry)
    return found


def goals(
    endpoint: str, ours_rate: float | None, to_peer: float | None, to_floor: float | None
) -> list[dict[str, Any]]:
    """The issue's goals for this endpoint, each with the figure and whether it was met (None: no figure)."""
    found: list[dict[str, Any]] = []

    def goal(name: str, value: float | None, target: float) -> None:
        met = None if value is None else value >= target
        found.append({"goal": name, "value": _rounded(value, 3), "target": target, "met": met})

    if endpoint in TOKEN_ENDPOINTS:
        goal(f">= {GOAL_TO_PEER}x oidc-provider per core", to_peer, GOAL_TO_PEER)
        keycloak = KEYCLOAK_PER_VCPU * GOAL_TO_KEYCLOAK
        goal(f">= {GOAL_TO_KEYCLOAK:g}x Keycloak's sizing ({keycloak:,.0f}/s per core)", ours_rate, keycloak)
    elif endpoint == "password_login":
        goal(f">= {GOAL_LOGIN_TO_FLOOR}x the argon2id floor", to_floor, GOAL_LOGIN_TO_FLOOR)
    return found


def _floor_ratio(scenario: dict[str, Any] | None) -> float | None:
    if scenario is None or scenario.get("floor") is None:
        return None
    return _rounded(ratio(requests_per_second(scenario), scenario["floor"]["per_second"]), 3)


def disturbed(scenarios: list[dict[str, Any]]) -> list[str]:
    """Keys of the scenarios during which other processes used more than DISTURBED cores."""
    return [s["key"] for s in scenarios if (s.get("other_cpu_cores_used") or 0) > DISTURBED]


def markdown_table(floors: dict[str, float], scenarios: list[dict[str, Any]]) -> str:
    """Every run, one row each, and the floors: what the run prints at the end."""
    lines = [
        "| scenario | server | req/s | p50 ms | p99 ms | floor | ratio to floor | server CPU | CPU ms/req | RSS MB"
        " | others |",
        "|---|---|---:|---:|---:|---|---:|---|---:|---:|---:|",
    ]
    for s in scenarios:
        floor = s["floor"]
        floor_text = f"{floor['label']} ({floor['per_second']:,.0f}/s)" if floor else "(a floor)"
        if requests_per_second(s) is None:
            lines.append(f"| {s['title']} | {s['implementation']} | failed | | | {floor_text} | | | | | |")
            continue
        wrk, server = s["wrk"], s["server"]
        where = "pinned to CPU " + s["server_cpus"] if s["server_cpus"] != "all" else "all CPUs"
        to_floor = f"**{s['ratio_to_floor']:.2f}**" if s["ratio_to_floor"] is not None else ""
        lines.append(
            f"| {s['title']} | {s['implementation']} | {wrk['requests_per_second']:,.0f}"
            f" | {wrk['latency_ms']['p50']:.1f} | {wrk['latency_ms']['p99']:.1f} | {floor_text} | {to_floor}"
            f" | {server['cpu_cores_used']:.2f} cores ({where}) | {server['cpu_ms_per_request'] or 0:.2f}"
            f" | {server['rss_mb']:.0f} | {s['other_cpu_cores_used']} |"
        )
    lines += [
        "",
        "| floor (same run) | per second |",
        "|---|---:|",
        *(f"| {name} | {value:,.1f} |" for name, value in floors.items()),
    ]
    return "\n".join(lines)


def side_by_side(document: dict[str, Any]) -> str:
    """Ours beside the peer, per endpoint: the table the summary and the docs open with."""
    by_key = {scenario["key"]: scenario for scenario in document["scenarios"]}
    lines = [
        "| endpoint | passportoffice req/s | oidc-provider req/s | **ours / peer** | ours / peer per CPU-s"
        " | p50 / p99 ms, ours | p50 / p99 ms, peer | RSS MB ours / peer | ours / floor | peer / floor | goals |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for entry in document.get("comparisons", []):
        ours, peer = by_key.get(entry["ours"] or ""), by_key.get(entry["peer"] or "")
        floor = (ours or peer or {}).get("floor")
        floor_note = f" ({floor['label']})" if floor else ""
        lines.append(
            f"| {entry['title']} | {_rate(ours)} | {_rate(peer)} | **{_times(entry['ratio_to_peer'])}**"
            f" | {_times(entry['ratio_to_peer_per_cpu_second'])} | {_latency(ours)} | {_latency(peer)}"
            f" | {_rss(ours)} / {_rss(peer)} | {_times(entry['ours_ratio_to_floor'], 2)}{floor_note}"
            f" | {_times(entry['peer_ratio_to_floor'], 2)} | {_goals(entry['goals'])} |"
        )
    return "\n".join(lines)


def summary_markdown(document: dict[str, Any], charts: list[Path]) -> str:
    """The whole run as Markdown: context, side by side, every run, floors, guard, charts, notes."""
    machine = document["machine"]
    peer = machine.get("peer") or {}
    load = document["load"]
    lines = [
        f"# Benchmarks, {document['started_at']}{' (--quick)' if document.get('quick') else ''}",
        "",
        f"{machine['cpu_model']}, {machine['nproc']} CPUs; Python {machine['python']}"
        + (f", Node.js {peer['node']}, oidc-provider {peer.get('oidc-provider', '?')}" if peer.get("node") else "")
        + f"; passportoffice at {machine['git']}; {document['database']} database.",
        f"wrk: {load['threads']} threads, {load['connections']} connections, {load['duration_s']:g} s per scenario"
        + (
            f"; servers pinned to CPU {document['pinning']['server_cpu']}, wrk to CPU {document['pinning']['wrk_cpus']}"
            if document.get("pinning")
            else "; unpinned"
        )
        + f". Load average {machine['load_average_at_start']} at the start,"
        f" {machine.get('load_average_at_end', '?')} at the end; {document.get('elapsed_seconds', '?')} s in all.",
        "",
    ]
    flagged = disturbed(document["scenarios"])
    if flagged:
        lines += [
            f"**Disturbed**: other processes used more than {DISTURBED} cores during {len(flagged)} of"
            f" {len(document['scenarios'])} runs ({', '.join(flagged)}). Ratios measured in the same run"
            " hold better than absolute figures, and CPU-second ratios better still; rerun on a quiet machine.",
            "",
        ]
    if document.get("comparisons"):
        lines += ["## Side by side: passportoffice and oidc-provider, one core each", "", side_by_side(document), ""]
    lines += ["## Every run", "", markdown_table(document["floors"], document["scenarios"]), ""]
    guard = document.get("guard")
    if guard:
        from benchmarks.guard import summary as guard_summary  # its imports are the guard's, not needed above

        lines += [
            "## Token validation (passportoffice.guard, in-process, one core)",
            "",
            *(f"- {line}" for line in guard_summary(guard).splitlines()),
            "",
        ]
    if document.get("scale"):
        from benchmarks.scale import scale_markdown

        title = "## Scale-out: workers and instances on one PostgreSQL database"
        lines += [title, "", scale_markdown(document["scale"]), ""]
    if charts:
        lines += ["## Charts", "", *(f"![{chart.stem}]({chart.name})" for chart in charts), ""]
    remarks = [f"- {note}" for note in document.get("notes", [])]
    for s in document["scenarios"]:
        remarks += [f"- {s['key']}: {note}" for note in s["notes"]]
        remarks += [f"- **{s['key']} failed**: {failure}" for failure in s["failures"]]
    if remarks:
        lines += ["## Notes", "", *remarks, ""]
    return "\n".join(lines)


def _rate(scenario: dict[str, Any] | None) -> str:
    rate = requests_per_second(scenario)
    if scenario is None:
        return "-"
    return "failed" if rate is None else f"{rate:,.0f}"


def _latency(scenario: dict[str, Any] | None) -> str:
    if requests_per_second(scenario) is None:
        return "-"
    assert scenario is not None
    latency = scenario["wrk"]["latency_ms"]
    return f"{latency['p50']:.1f} / {latency['p99']:.1f}"


def _rss(scenario: dict[str, Any] | None) -> str:
    value = scenario["server"]["rss_mb"] if scenario else None
    return "-" if value is None else f"{value:.0f}"


def _times(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}x"


def _goals(found: list[dict[str, Any]]) -> str:
    marks = {True: "met", False: "**missed**", None: "no figure"}
    return "; ".join(f"{goal['goal']}: {marks[goal['met']]}" for goal in found) or "-"


def _rounded(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def write_summary(json_path: Path, document: dict[str, Any]) -> list[Path]:
    """<name>.md and the charts beside the JSON; returns the files written."""
    from benchmarks.charts import write_charts  # matplotlib loads only when charts are made

    charts = write_charts(document, json_path.with_suffix(""))
    charts += _extra_charts(document, json_path.with_suffix(""))
    summary = json_path.with_suffix(".md")
    summary.write_text(summary_markdown(document, charts))
    return [summary, *charts]


def _extra_charts(document: dict[str, Any], prefix: Path) -> list[Path]:
    """The scale-out chart (benchmarks/scale.py), when the run has its figures."""
    from benchmarks.scale import write_scale_chart

    if not document.get("scale"):
        return []
    chart = write_scale_chart(document["scale"], prefix.parent / f"{prefix.name}-scale.png")
    return [chart] if chart else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.split("\n")[0])
    parser.add_argument("results", type=Path, help="a benchmarks/results/<date>.json")
    args = parser.parse_args(argv)
    document = json.loads(args.results.read_text())
    if document.get("schema") != SCHEMA:
        print(f"{args.results}: schema {document.get('schema')}, this report reads {SCHEMA}", file=sys.stderr)
        return 2
    for path in write_summary(args.results, document):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
