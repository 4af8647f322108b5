"""`make bench`: floors, then real servers under wrk (ours, the peer oidc-provider), as ratios.

    python -m benchmarks.run            # 10 s per scenario: benchmarks/results/<UTC date>.json, .md, PNGs
    python -m benchmarks.run --quick    # 3 s per scenario: the self-check, under 2 minutes

Exits non-zero when wrk is missing, a server fails, or any response has a status its scenario does not
expect: a fast error is not throughput.
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

import asyncpg  # type: ignore[import-untyped]

from benchmarks import peer
from benchmarks.console import progress_bar, say
from benchmarks.floors import SERVER_CPU, Floors
from benchmarks.guard import run_guard_benchmarks
from benchmarks.guard import summary as guard_summary
from benchmarks.machine import REPO, describe, find_tool
from benchmarks.measure import WRK_CPUS, Bench, check_rotations, run_phase
from benchmarks.report import (
    RESULTS,
    SCHEMA,
    ScenarioResult,
    compare,
    markdown_table,
    side_by_side,
    write_json,
    write_summary,
)
from benchmarks.scale import DEFAULT_REDIS, run_scale, scale_markdown
from benchmarks.scale import DEFAULT_SERVER as SCALE_SERVER
from benchmarks.scenarios import ENDPOINTS, SCENARIO_KEYS, Scenario, ServerSetup, build, select
from benchmarks.seed import SeedFailed, rotated_count, seed
from benchmarks.wrk import Load
from passportoffice.bootstrap import ConfigError, load_settings

# Single-use bodies seeded per scenario: the floor bounds the rate, the margin covers a noisy floor.
SEED_MARGIN = 1.5
QUICK_BUDGET_SECONDS = 120
DOCS = REPO / "docs" / "benchmarks.md"
DOCS_START, DOCS_END = "<!-- results:start -->", "<!-- results:end -->"


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    wrk = find_tool("wrk")
    if wrk is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 2
    taskset = find_tool("taskset")
    started = time.monotonic()
    duration = args.duration or (3.0 if args.quick else 10.0)
    load = Load(duration=duration, connections=args.connections, threads=args.threads)
    ignored = sorted(name for name in os.environ if name.startswith("PASSPORTOFFICE_"))
    for name in ignored:  # the figures are for the defaults; --database is the one thing to choose
        del os.environ[name]
    with tempfile.TemporaryDirectory(prefix="passportoffice-bench-") as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        if (workdir / "data").exists():
            print(f"{workdir} holds an earlier run: --keep needs a new directory", file=sys.stderr)
            return 2
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            document, failed = _bench(args, wrk, taskset, load, workdir, ignored)
        except (ConfigError, SeedFailed) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    document["elapsed_seconds"] = round(time.monotonic() - started, 1)
    document["machine"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    if not args.no_save:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
        path = args.output or RESULTS / f"{stamp}{'-quick' if args.quick else ''}.json"
        write_json(path, document)
        written = [path, *write_summary(path, document)]
        if not args.quick and args.output is None:  # a full run at the usual place: the docs show it
            _update_docs(path, document, written)
            written.append(DOCS)
        say("wrote " + ", ".join(str(each) for each in written))
    say(f"done in {document['elapsed_seconds']:.0f} s")
    if args.quick and document["elapsed_seconds"] > QUICK_BUDGET_SECONDS:
        say(f"warning: --quick took longer than {QUICK_BUDGET_SECONDS} s")
    if failed:
        say("FAILED: " + "; ".join(failed))
        return 1
    return 0


def _bench(
    args: argparse.Namespace, wrk: str, taskset: str | None, load: Load, workdir: Path, ignored: list[str]
) -> tuple[dict[str, Any], list[str]]:
    started_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    secret_key = secrets.token_urlsafe(32)
    settings = load_settings(data_dir=workdir / "data", secret_key=secret_key, database_url=args.database)
    notes = [f"ignored from the environment: {', '.join(ignored)}"] if ignored else []
    if args.database:
        notes.append("on PostgreSQL the 'others' CPU includes the database server's own processes")
    if taskset is None:
        notes.append("taskset not found: server and wrk ran unpinned, so 'per core' figures are not per core")
    peer_problem = None if args.no_peer else peer.unavailable()
    if peer_problem:
        notes.append(f"the peer cannot run: {peer_problem}")
    for note in notes:
        say("note: " + note)
    machine = describe(wrk)
    machine["peer"] = peer.versions()
    load_average = machine["load_average_at_start"]
    say(f"{machine['cpu_model']}, {machine['nproc']} CPUs, Python {machine['python']}, load {load_average}")
    say("measuring floors in-process...")
    floors = Floors(settings, 0.5 if args.quick else 1.0)
    floors.measure_all()
    say("  " + ", ".join(f"{name} {value:,.0f}/s" for name, value in floors.as_dict().items()))
    refresh_count = math.ceil(floors.get("es256_plus_rs256_sign") * load.duration * SEED_MARGIN) + 500
    login_count = math.ceil(floors.get("argon2id_verify_2_threads") * load.duration * SEED_MARGIN) + 100
    say(f"seeding {refresh_count} refresh tokens and {login_count} pending logins...")
    seeded = asyncio.run(seed(settings, workdir, refresh_tokens=refresh_count, logins=login_count))
    scenarios = select(build(seeded, workdir), args.only, with_peer=not args.no_peer)
    ours_env = dict(os.environ) | {
        "PASSPORTOFFICE_DATA_DIR": str(settings.data_dir),
        "PASSPORTOFFICE_SECRET_KEY": secret_key,
    }
    if args.database:
        ours_env["PASSPORTOFFICE_DATABASE_URL"] = args.database
    bench = Bench(
        wrk=wrk,
        taskset=taskset,
        load=load,
        workdir=workdir,
        floors=floors,
        ours_env=ours_env,
        settings=settings,
        seeded=seeded,
        # The peer seeds as many as ours: the same floor bounds both (each refresh signs an RS256 ID token).
        peer_refresh_tokens=refresh_count,
        peer_problem=peer_problem,
    )
    results: list[ScenarioResult] = []
    with progress_bar(len(scenarios) * load.duration):
        for setups, group in _phases(scenarios):
            results += run_phase(bench, setups, group)
    for result in results:
        if result.floor_name:
            result.floor_per_second = floors.get(result.floor_name)  # the best sample of the whole run
            result.floor_per_cpu_second = floors.get_per_cpu_second(result.floor_name)
        if result.key == "refresh_token_rotation" and result.wrk is not None and not result.failures:
            check_rotations(result, asyncio.run(rotated_count(settings, seeded.app_client_id)))
    guard = None
    if not args.only:  # in-process, no server: token validation per core (passportoffice.guard)
        say("measuring token validation in-process (guard, PyJWT, floor)...")
        guard = run_guard_benchmarks(0.5 if args.quick else 3.0)
        say(guard_summary(guard))
    failed = [f"{result.key}: {failure}" for result in results for failure in result.failures]
    scale = _scale(args, bench, notes)  # benchmarks/scale.py
    failed += [f"scale-out: {failure}" for failure in (scale or {}).get("failures", [])]
    scenario_figures = [result.as_dict() for result in results]
    document = {
        "schema": SCHEMA,
        "started_at": started_at,
        "quick": args.quick,
        "machine": machine,
        "load": {"duration_s": load.duration, "connections": load.connections, "threads": load.threads},
        "database": "postgresql" if args.database else "sqlite",
        "pinning": {"server_cpu": SERVER_CPU, "wrk_cpus": WRK_CPUS} if taskset else None,
        "seeded": {
            "refresh_tokens": refresh_count,
            "peer_refresh_tokens": refresh_count,
            "pending_logins": login_count,
        },
        "notes": notes,
        "floors": {name: round(value, 1) for name, value in floors.as_dict().items()},
        "scenarios": scenario_figures,
        "comparisons": compare(scenario_figures, ENDPOINTS),
        "guard": guard,
        "scale": scale,
    }
    say("")
    if document["comparisons"]:
        print(side_by_side(document) + "\n")
    print(markdown_table(document["floors"], scenario_figures))
    return document, failed


def _scale(args: argparse.Namespace, bench: Bench, notes: list[str]) -> dict[str, Any] | None:
    """1, 2 and 4 workers, and two instances behind nginx, on PostgreSQL (and Redis); not with --only."""
    if args.only or args.no_scale:
        return None
    say("scale-out: 1, 2 and 4 workers, and two instances behind nginx, on PostgreSQL...")
    try:
        scale = run_scale(
            wrk=bench.wrk,
            taskset=bench.taskset,
            load=bench.load,
            workdir=bench.workdir,
            floors=bench.floors,
            server=args.scale_server,
            redis_url=args.redis,
            quick=args.quick,
        )
    except (OSError, asyncpg.PostgresError) as exc:
        notes.append(f"scale-out not measured: PostgreSQL at {args.scale_server} cannot be used: {exc}")
        say("note: " + notes[-1])
        return None
    say(scale_markdown(scale))
    return scale


def _phases(scenarios: list[Scenario]) -> list[tuple[list[ServerSetup], list[Scenario]]]:
    """Scenarios grouped by phase, in order, each with the servers it needs in order of first use."""
    phases: dict[str, tuple[list[ServerSetup], list[Scenario]]] = {}
    for scenario in scenarios:
        setups, group = phases.setdefault(scenario.server.phase, ([], []))
        if scenario.server not in setups:
            setups.append(scenario.server)
        group.append(scenario)
    return list(phases.values())


def _update_docs(path: Path, document: dict[str, Any], written: list[Path]) -> None:
    """Replace the results block of docs/benchmarks.md with this run's side-by-side table and charts."""
    text = DOCS.read_text()
    if DOCS_START not in text or DOCS_END not in text:
        say(f"note: {DOCS} has no {DOCS_START} ... {DOCS_END} block: left as it is")
        return
    relative = Path("..") / path.relative_to(REPO).parent
    charts = [each for each in written if each.suffix == ".png"]
    block = [
        DOCS_START,
        f"Last full run: {document['started_at']} ([summary]({relative / path.with_suffix('.md').name}),"
        f" [figures]({relative / path.name})).",
        "",
        side_by_side(document),
        "",
        *(f"![{chart.stem}]({relative / chart.name})" for chart in charts),
        DOCS_END,
    ]
    before, rest = text.split(DOCS_START, 1)
    after = rest.split(DOCS_END, 1)[1]
    DOCS.write_text(before + "\n".join(block) + after)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per endpoint (the self-check)")
    parser.add_argument("--duration", type=float, help="seconds per endpoint (default 10, --quick 3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (logins use at most 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--database", help="postgresql+asyncpg://... (default: SQLite in a temporary directory)")
    parser.add_argument("--only", action="append", choices=SCENARIO_KEYS, help="run only this scenario (repeatable)")
    parser.add_argument("--keep", metavar="DIR", help="keep the database, request files and server logs in DIR")
    parser.add_argument(
        "--output", type=Path, help="where to write the JSON, summary and charts (default benchmarks/results/)"
    )
    parser.add_argument("--no-peer", action="store_true", help="leave out the peer (oidc-provider)")
    parser.add_argument("--no-save", action="store_true", help="print the tables only")
    parser.add_argument("--no-scale", action="store_true", help="leave out the scale-out runs (PostgreSQL, nginx)")
    parser.add_argument("--scale-server", default=SCALE_SERVER, help="PostgreSQL server for the scale-out database")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="Redis shared by the two instances behind nginx")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
