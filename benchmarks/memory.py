"""Memory: the provider's RSS idle, and as it serves a million requests; it must not grow.

Issue 6's goals: an idle provider under 100 MB per process, and no growth over 1 million requests.
One `passportoffice serve` (SQLite, defaults, pinned to one core like `make bench`) is started; its RSS
is read once it is ready, then wrk sends client credentials grants (client authentication, a token
minted and signed, an access-log line: the whole request path) in rounds until the total is served,
and the RSS is read after each round. Growth is measured from the first round (the warm-up: imports,
caches and pools filled) to the last.

    python -m benchmarks.memory                       # 1 million requests, RSS after every ~50,000
    python -m benchmarks.memory --quick               # 20,000 requests: the self-check
    python -m benchmarks.memory --requests 200000

Writes benchmarks/results/<date>-memory.json, .md and .png (-quick for --quick).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import math
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.console import progress_bar, say, tick
from benchmarks.floors import SERVER_CPU
from benchmarks.machine import describe, find_tool
from benchmarks.measure import WRK_CPUS
from benchmarks.report import RESULTS, write_json
from benchmarks.scenarios import ES256_SERVER, FORM
from benchmarks.seed import seed
from benchmarks.server import Server, ServerFailed, passportoffice_executable
from benchmarks.wrk import Load, WrkFailed, run_wrk
from passportoffice.bootstrap import load_settings

REQUESTS = 1_000_000
QUICK_REQUESTS = 20_000
ROUNDS = 20
IDLE_GOAL_MB = 100.0
# Growth from the first round to the last above which the verdict is "grows": allocator noise and
# the odd arena are a few MB; a leak of even a few hundred bytes a request is far more over a million.
GROWTH_TOLERANCE_MB = 10.0


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    wrk = find_tool("wrk")
    if wrk is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 2
    total = args.requests or (QUICK_REQUESTS if args.quick else REQUESTS)
    for name in [name for name in os.environ if name.startswith("PASSPORTOFFICE_")]:
        del os.environ[name]  # the figures are for the defaults
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="passportoffice-memory-") as tmp:
        try:
            document = _memory(args, wrk, Path(tmp), total)
        except (ServerFailed, WrkFailed) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    document["elapsed_seconds"] = round(time.monotonic() - started, 1)
    print(markdown(document))
    if not args.no_save:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
        path = args.output or RESULTS / f"{stamp}-memory{'-quick' if args.quick else ''}.json"
        write_json(path, document)
        path.with_suffix(".md").write_text(f"# Memory, {document['started_at']}\n\n{markdown(document)}\n")
        from benchmarks.charts import write_memory_chart

        chart = write_memory_chart(document, path.with_suffix(".png"))
        say(f"wrote {path}, {path.with_suffix('.md')}, {chart}")
    say(f"done in {document['elapsed_seconds']:.0f} s")
    return 0 if not document["failures"] else 1


def _memory(args: argparse.Namespace, wrk: str, workdir: Path, total: int) -> dict[str, Any]:
    started_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    taskset = find_tool("taskset")
    secret_key = secrets.token_urlsafe(32)
    settings = load_settings(data_dir=workdir / "data", secret_key=secret_key)
    seeded = asyncio.run(seed(settings, workdir, refresh_tokens=0, logins=0))
    env = dict(os.environ) | {
        "PASSPORTOFFICE_DATA_DIR": str(settings.data_dir),
        "PASSPORTOFFICE_SECRET_KEY": secret_key,
    }
    headers = {"Authorization": seeded.basic_authorization, "Content-Type": FORM}
    body = seeded.client_credentials_body.read_text().strip()
    executable = passportoffice_executable()

    def command(port: int) -> list[str]:
        return [executable, "serve", "--port", str(port), "--issuer", f"http://localhost:{port}"]

    samples: list[dict[str, Any]] = []
    failures: list[str] = []
    served = 0
    with Server(command, env, workdir / "server.log", cpus=ES256_SERVER.cpus, taskset=taskset) as server:
        idle = round(server.rss_mb(), 1)
        say(f"idle: {idle:.1f} MB")
        answer = httpx.post(server.url + "/token", content=body, headers=headers, timeout=30)
        if answer.status_code != 200:
            raise ServerFailed(f"the check request failed: {answer.status_code} {answer.text[:200]}")
        # Rounds sized from a first short one, so each takes about the same time whatever the machine.
        round_seconds, rate = 2.0, 0.0
        with progress_bar(total):
            while served < total:
                load = Load(round_seconds, args.connections, args.threads)

                def advance(elapsed: float, base: int = served, now: float = rate) -> None:
                    tick("requests", base + elapsed * now, total)  # an estimate until the round's count is in

                outcome = run_wrk(
                    wrk,
                    server.url + "/token",
                    load,
                    bodies=seeded.client_credentials_body,
                    once=False,
                    expected=frozenset({200}),
                    headers=headers,
                    taskset=taskset,
                    cpus=WRK_CPUS,
                    tick=advance,
                )
                unexpected = outcome.unexpected(frozenset({200}))
                if unexpected or outcome.socket_errors or not outcome.requests:
                    failures.append(
                        f"round {len(samples) + 1}: statuses {outcome.statuses}, errors {outcome.socket_errors}"
                    )
                    break
                served += outcome.requests
                rate = outcome.requests_per_second
                server.check_alive()
                samples.append(
                    {"requests": served, "rss_mb": round(server.rss_mb(), 1), "requests_per_second": round(rate, 1)}
                )
                tick("requests", served, total)
                say(f"  {served:,} requests, {samples[-1]['rss_mb']:.1f} MB, {rate:,.0f} req/s")
                round_seconds = max(1.0, min(60.0, math.ceil(total / ROUNDS / max(rate, 1.0))))
    return {
        "schema": 1,
        "kind": "memory",
        "started_at": started_at,
        "quick": args.quick,
        "machine": describe(wrk),
        "database": "sqlite",
        "endpoint": "client_credentials (ES256)",
        "load": {"connections": args.connections, "threads": args.threads},
        "pinning": {"server_cpu": SERVER_CPU, "wrk_cpus": WRK_CPUS} if taskset else None,
        "idle_rss_mb": idle,
        "samples": samples,
        "verdict": verdict(idle, samples),
        "failures": failures,
    }


def verdict(idle: float, samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Idle RSS against its goal; growth from the first round (warm) to the last against the tolerance."""
    found: dict[str, Any] = {"idle_goal_mb": IDLE_GOAL_MB, "idle_met": idle < IDLE_GOAL_MB}
    if len(samples) >= 2:
        growth = samples[-1]["rss_mb"] - samples[0]["rss_mb"]
        served = samples[-1]["requests"] - samples[0]["requests"]
        found |= {
            "warm_rss_mb": samples[0]["rss_mb"],
            "final_rss_mb": samples[-1]["rss_mb"],
            "growth_mb": round(growth, 1),
            "growth_bytes_per_request": round(growth * 1024 * 1024 / served, 1) if served else None,
            "tolerance_mb": GROWTH_TOLERANCE_MB,
            "flat": growth <= GROWTH_TOLERANCE_MB,
        }
    return found


def markdown(document: dict[str, Any]) -> str:
    found = document["verdict"]
    lines = [
        f"Idle RSS: **{document['idle_rss_mb']:.1f} MB** (goal: under {found['idle_goal_mb']:.0f} MB:"
        f" {'met' if found['idle_met'] else '**missed**'}).",
    ]
    if "growth_mb" in found:
        lines.append(
            f"Over {document['samples'][-1]['requests']:,} {document['endpoint']} requests:"
            f" {found['warm_rss_mb']:.1f} MB after the first round, {found['final_rss_mb']:.1f} MB at the end:"
            f" {found['growth_mb']:+.1f} MB"
            f" ({found['growth_bytes_per_request']} bytes a request; within {found['tolerance_mb']:.0f} MB:"
            f" {'flat' if found['flat'] else '**grows**'})."
        )
    lines += ["", "| requests served | RSS MB | req/s in the round |", "|---:|---:|---:|"]
    lines += [
        f"| {s['requests']:,} | {s['rss_mb']:.1f} | {s['requests_per_second']:,.0f} |" for s in document["samples"]
    ]
    lines += [f"- **failed**: {failure}" for failure in document["failures"]]
    return "\n".join(lines)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REQUESTS:,} requests")
    parser.add_argument("--requests", type=int, help=f"requests to serve (default {REQUESTS:,})")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--output", type=Path, help="where to write the JSON (default benchmarks/results/)")
    parser.add_argument("--no-save", action="store_true", help="print the table only")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
