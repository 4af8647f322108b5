"""PNG charts of one run, from its JSON document: throughput, latency, memory; ours beside the peer.

- <name>-throughput.png: requests per second per core for each endpoint, passportoffice, oidc-provider
  and the endpoint's floor side by side (log scale: a signature is far cheaper than a response), each
  endpoint labelled with the ratio ours / peer.
- <name>-latency.png: p50 and p99 per endpoint, ours and the peer (log scale).
- <name>-memory.png: server RSS once ready and after the load, ours and the peer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt

from benchmarks.report import requests_per_second

OURS, PEER, FLOOR = "#1f6feb", "#d29922", "#8b949e"


def write_charts(document: dict[str, Any], prefix: Path) -> list[Path]:
    """Write the charts next to `prefix` (<prefix>-throughput.png...); returns their paths."""
    rows = _rows(document)
    if not rows:
        return []
    written = []
    for name, draw in (("throughput", _throughput), ("latency", _latency), ("memory", _memory)):
        figure, axes = plt.subplots(figsize=(10, 0.9 * len(rows) + 1.8), dpi=110)
        try:
            draw(axes, rows)
            title = f"{name.capitalize()}, {document['started_at'][:10]}{' (quick)' if document.get('quick') else ''}"
            axes.set_title(title, loc="left", fontsize=11)
            figure.tight_layout()
            path = prefix.parent / f"{prefix.name}-{name}.png"
            figure.savefig(path)
            written.append(path)
        finally:
            plt.close(figure)
    return written


def _rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per compared endpoint, top to bottom, with ours and the peer's scenario (or None)."""
    by_key = {scenario["key"]: scenario for scenario in document["scenarios"]}
    rows = []
    for entry in document.get("comparisons", []):
        ours, peer = by_key.get(entry["ours"] or ""), by_key.get(entry["peer"] or "")
        rows.append({"title": entry["title"], "ours": ours, "peer": peer, "ratio": entry["ratio_to_peer"]})
    return rows[::-1]  # barh draws bottom-up


def _bars(
    axes: Any, rows: list[dict[str, Any]], series: list[tuple[str, str, list[float | None]]], *, log: bool
) -> None:
    """Horizontal bars, one group per row, the series bottom-up (the last one on top), each labelled."""
    height = 0.8 / len(series)
    largest = 0.0
    for index, (label, colour, values) in enumerate(series):
        offsets = [row + (index - (len(series) - 1) / 2) * height for row in range(len(rows))]
        drawn = [(offset, value) for offset, value in zip(offsets, values, strict=True) if value]
        if drawn:
            positions, widths = zip(*drawn, strict=True)
            bars = axes.barh(positions, widths, height=height * 0.95, color=colour, label=label)
            axes.bar_label(bars, labels=[f"{width:,.0f}" for width in widths], padding=3, fontsize=7)
            largest = max(largest, *widths)
    labels = [_wrap(row["title"]) + (f"\nours/peer {row['ratio']:.2f}x" if row.get("ratio") else "") for row in rows]
    axes.set_yticks(range(len(rows)), labels, fontsize=8)
    if log:
        axes.set_xscale("log")
    if largest:
        axes.set_xlim(right=largest * (3 if log else 1.2))  # room for the labels
    handles, names = axes.get_legend_handles_labels()
    # Top to bottom as the bars are, above the plot at the right (the title is at the left).
    columns = len(handles) if len(handles) < 4 else 2
    axes.legend(
        handles[::-1], names[::-1], loc="lower right", bbox_to_anchor=(1, 1), ncol=columns, fontsize=8, frameon=False
    )
    axes.grid(axis="x", alpha=0.3)


def _throughput(axes: Any, rows: list[dict[str, Any]]) -> None:
    floors = [
        (row["ours"] or row["peer"] or {}).get("floor", {}) or {} for row in rows
    ]
    _bars(
        axes,
        rows,
        [
            ("floor", FLOOR, [floor.get("per_second") for floor in floors]),
            ("oidc-provider", PEER, [requests_per_second(row["peer"]) for row in rows]),
            ("passportoffice", OURS, [requests_per_second(row["ours"]) for row in rows]),
        ],
        log=True,
    )
    axes.set_xlabel("requests per second, one core (log scale)")


def _latency(axes: Any, rows: list[dict[str, Any]]) -> None:
    def percentile(scenario: dict[str, Any] | None, name: str) -> float | None:
        if requests_per_second(scenario) is None:
            return None
        assert scenario is not None
        return float(scenario["wrk"]["latency_ms"][name])

    _bars(
        axes,
        rows,
        [
            ("oidc-provider p99", "#f2cc60", [percentile(row["peer"], "p99") for row in rows]),
            ("oidc-provider p50", PEER, [percentile(row["peer"], "p50") for row in rows]),
            ("passportoffice p99", "#79c0ff", [percentile(row["ours"], "p99") for row in rows]),
            ("passportoffice p50", OURS, [percentile(row["ours"], "p50") for row in rows]),
        ],
        log=True,
    )
    axes.set_xlabel("latency in ms under load (wrk, closed loop; log scale)")


def _memory(axes: Any, rows: list[dict[str, Any]]) -> None:
    def rss(scenario: dict[str, Any] | None, name: str) -> float | None:
        return None if scenario is None else scenario["server"].get(name)

    _bars(
        axes,
        rows,
        [
            ("oidc-provider, after the run", PEER, [rss(row["peer"], "rss_mb") for row in rows]),
            ("oidc-provider, idle", "#f2cc60", [rss(row["peer"], "idle_rss_mb") for row in rows]),
            ("passportoffice, after the run", OURS, [rss(row["ours"], "rss_mb") for row in rows]),
            ("passportoffice, idle", "#79c0ff", [rss(row["ours"], "idle_rss_mb") for row in rows]),
        ],
        log=False,
    )
    axes.set_xlabel("server resident memory (RSS), MB")


def _wrap(title: str, width: int = 28) -> str:
    words, lines, line = title.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def write_growth_chart(document: dict[str, Any], path: Path) -> Path:
    """Refresh latency (p50, p99) and throughput against the number of stored refresh tokens."""
    steps = [step for step in document["steps"] if requests_per_second(step["run"]) is not None]
    sizes = [step["stored_refresh_tokens"] for step in steps]
    figure, latency = plt.subplots(figsize=(8, 4.5), dpi=110)
    try:
        for name, colour in (("p50", OURS), ("p99", "#79c0ff")):
            values = [step["run"]["wrk"]["latency_ms"][name] for step in steps]
            latency.plot(sizes, values, marker="o", color=colour, label=f"latency {name} (ms)")
        latency.set_xscale("log")
        latency.set_xlabel("stored refresh tokens (log scale)")
        latency.set_ylabel("latency under load, ms")
        latency.set_ylim(bottom=0)
        throughput = latency.twinx()
        rates = [requests_per_second(step["run"]) or 0.0 for step in steps]
        throughput.plot(sizes, rates, marker="s", linestyle="--", color=FLOOR, label="requests per second")
        throughput.set_ylabel("refreshes per second, one core")
        throughput.set_ylim(bottom=0, top=max(rates, default=1.0) * 1.3)
        handles = latency.get_legend_handles_labels()[0] + throughput.get_legend_handles_labels()[0]
        labels = latency.get_legend_handles_labels()[1] + throughput.get_legend_handles_labels()[1]
        latency.legend(handles, labels, loc="lower left", fontsize=8)
        latency.grid(alpha=0.3)
        quick = " (quick)" if document.get("quick") else ""
        title = f"Refresh grant vs stored tokens, PostgreSQL, {document['started_at'][:10]}{quick}"
        latency.set_title(title, loc="left")
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path


def write_memory_chart(document: dict[str, Any], path: Path) -> Path:
    """The server's RSS against requests served, with the idle RSS for reference."""
    samples = document["samples"]
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=110)
    try:
        axes.plot([0] + [s["requests"] for s in samples], [document["idle_rss_mb"]] + [s["rss_mb"] for s in samples],
                  marker="o", color=OURS, label="passportoffice RSS")  # fmt: skip
        axes.axhline(document["idle_rss_mb"], color=FLOOR, linestyle="--", label="idle")
        axes.set_xlabel(f"{document['endpoint']} requests served")
        axes.set_ylabel("resident memory (RSS), MB")
        axes.set_ylim(bottom=0, top=max([document["idle_rss_mb"], *(s["rss_mb"] for s in samples)]) * 1.3)
        axes.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:,.0f}"))
        axes.legend(loc="lower right", fontsize=8)
        axes.grid(alpha=0.3)
        quick = " (quick)" if document.get("quick") else ""
        axes.set_title(f"Memory under load, {document['started_at'][:10]}{quick}", loc="left")
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path
