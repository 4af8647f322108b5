"""Growth: the refresh grant's latency and throughput as the stored refresh tokens grow, on PostgreSQL.

Issue 6 asks for a flat cost: refresh latency within 20% from 10 thousand to 10 million stored refresh
tokens, with 1 million users. Each step fills the database up to its size with COPY (asyncpg's binary
COPY, half a million rows a statement, never one row at a time; the secondary indexes are built again
after each load), adds the step's never-used refresh tokens (each in a grant of its own on a live
session, as in `make bench`), runs ANALYZE, then measures the refresh grant with wrk against
`passportoffice serve` pinned to one core, exactly as `make bench` does. Fillers are shaped like real
rows (a grant per token, random users and session ids, live lifetimes); only the tokens the run
presents are real.

    python -m benchmarks.growth                  # 10 thousand, 1 million, 10 million; 1 million users
    python -m benchmarks.growth --quick          # 10 thousand and 100 thousand; 10 thousand users; 3 s each
    python -m benchmarks.growth --sizes 10000,1000000 --duration 20

It makes a scratch database on the server named by --server (dropped afterwards unless
--keep-database), and writes benchmarks/results/<date>-growth.json, .md and .png (-quick for --quick).
10 million tokens take several GB of disk and some minutes of COPY.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import gc
import json
import math
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa
from argon2 import PasswordHasher

from benchmarks.console import progress_bar, say
from benchmarks.floors import SERVER_CPU, Floors
from benchmarks.machine import describe, find_tool
from benchmarks.measure import WRK_CPUS, Bench, run_phase
from benchmarks.report import RESULTS, ScenarioResult, write_json
from benchmarks.scenarios import ES256_SERVER, FORM, Scenario, access_token_check
from benchmarks.seed import AUDIENCE, Seeded, SeedFailed, add_refresh_requests, rotated_count, seed
from benchmarks.wrk import Load
from passportoffice.bootstrap import ConfigError, load_settings

SIZES = (10_000, 1_000_000, 10_000_000)
QUICK_SIZES = (10_000, 100_000)
USERS = 1_000_000
QUICK_USERS = 10_000
COPY_CHUNK = 500_000
FLAT = 1.2  # the goal: p50 at the largest size within 20% of the smallest
SEED_MARGIN = 1.5
DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    wrk = find_tool("wrk")
    if wrk is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 2
    sizes = tuple(sorted(args.sizes or (QUICK_SIZES if args.quick else SIZES)))
    users = args.users if args.users is not None else (QUICK_USERS if args.quick else USERS)
    duration = args.duration or (3.0 if args.quick else 10.0)
    for name in [name for name in os.environ if name.startswith("PASSPORTOFFICE_")]:
        del os.environ[name]  # the figures are for the defaults
    started = time.monotonic()
    name = f"po_growth_{secrets.token_hex(4)}"
    server_url = sa.make_url(args.server)
    url = server_url.set(database=name).render_as_string(hide_password=False)
    try:
        asyncio.run(_admin(args.server, f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"error: cannot create a database on {server_url!r}: {exc}", file=sys.stderr)
        return 2
    say(f"scratch database {name}{' (kept)' if args.keep_database else ''}")
    try:
        with tempfile.TemporaryDirectory(prefix="passportoffice-growth-") as tmp:
            document, failed = _growth(args, wrk, url, Path(tmp), sizes, users, duration)
    except (ConfigError, SeedFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep_database:
            asyncio.run(_admin(args.server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    document["elapsed_seconds"] = round(time.monotonic() - started, 1)
    document["machine"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    print(markdown(document))
    if not args.no_save:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
        path = args.output or RESULTS / f"{stamp}-growth{'-quick' if args.quick else ''}.json"
        write_json(path, document)
        path.with_suffix(".md").write_text(f"# Growth, {document['started_at']}\n\n{markdown(document)}\n")
        from benchmarks.charts import write_growth_chart

        chart = write_growth_chart(document, path.with_suffix(".png"))
        say(f"wrote {path}, {path.with_suffix('.md')}, {chart}")
    say(f"done in {document['elapsed_seconds']:.0f} s")
    if failed:
        say("FAILED: " + "; ".join(failed))
        return 1
    return 0


def _growth(
    args: argparse.Namespace, wrk: str, url: str, workdir: Path, sizes: tuple[int, ...], users: int, duration: float
) -> tuple[dict[str, Any], list[str]]:
    started_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    taskset = find_tool("taskset")
    secret_key = secrets.token_urlsafe(32)
    settings = load_settings(data_dir=workdir / "data", secret_key=secret_key, database_url=url)
    machine = describe(wrk)
    floors = Floors(settings, 0.5 if args.quick else 1.0)
    floors.measure("es256_plus_rs256_sign")
    # Enough never-used tokens for the run at the signing floor, but at most half the smallest size, so
    # that size is what is stored; if a fast server runs out there, the run says so (shorten --duration).
    per_step = math.ceil(floors.get("es256_plus_rs256_sign") * duration * SEED_MARGIN) + 500
    per_step = max(min(per_step, sizes[0] // 2), 4 * args.connections)
    say(f"seeding clients and the first {per_step} refresh tokens to present...")
    seeded = asyncio.run(seed(settings, workdir, refresh_tokens=per_step, logins=0))
    dsn = _asyncpg_dsn(url)
    say(f"copying {users:,} users...")
    copy_started = time.monotonic()
    asyncio.run(copy_users(dsn, users))
    say(f"  {users / (time.monotonic() - copy_started):,.0f} rows/s")
    load = Load(duration=duration, connections=args.connections, threads=args.threads)
    bench = Bench(
        wrk=wrk,
        taskset=taskset,
        load=load,
        workdir=workdir,
        floors=floors,
        ours_env=dict(os.environ)
        | {
            "PASSPORTOFFICE_DATA_DIR": str(settings.data_dir),
            "PASSPORTOFFICE_SECRET_KEY": secret_key,
            "PASSPORTOFFICE_DATABASE_URL": url,
        },
        settings=settings,
        seeded=seeded,
        peer_refresh_tokens=0,
        peer_problem="no peer in the growth benchmark",
    )
    steps: list[dict[str, Any]] = []
    failed: list[str] = []
    with progress_bar(len(sizes) * duration):
        for index, size in enumerate(sizes):
            if index == 0:
                bodies, check = seeded.refresh_bodies, seeded.refresh_check
            else:
                bodies = workdir / f"refresh-{size}.txt"
                check = asyncio.run(add_refresh_requests(settings, seeded, per_step, bodies))
            stored = asyncio.run(_count(dsn, "refresh_tokens"))
            filler = size - stored
            if filler > 0:
                say(f"copying {filler:,} refresh tokens (and a grant each) to reach {size:,}...")
                copy_started = time.monotonic()
                with _no_cycle_collection():
                    asyncio.run(copy_refresh_tokens(dsn, filler, seeded, users))
                say(f"  {filler / (time.monotonic() - copy_started):,.0f} rows/s")
            asyncio.run(_analyze(dsn))
            stored = asyncio.run(_count(dsn, "refresh_tokens"))
            rotated_before = asyncio.run(rotated_count(settings, seeded.app_client_id))
            scenario = _refresh_scenario(size, bodies, check)
            [result] = run_phase(bench, [ES256_SERVER], [scenario])
            rotated = asyncio.run(rotated_count(settings, seeded.app_client_id)) - rotated_before
            _check_rotations(result, rotated)
            failed += [f"{result.key}: {failure}" for failure in result.failures]
            accounts = asyncio.run(_count(dsn, "users"))
            steps.append({"stored_refresh_tokens": stored, "users": accounts, "run": result.as_dict()})
    return {
        "schema": 1,
        "kind": "growth",
        "started_at": started_at,
        "quick": args.quick,
        "machine": machine,
        "database": "postgresql",
        "load": {"duration_s": load.duration, "connections": load.connections, "threads": load.threads},
        "pinning": {"server_cpu": SERVER_CPU, "wrk_cpus": WRK_CPUS} if taskset else None,
        "copy_chunk_rows": COPY_CHUNK,
        "floors": {"es256_plus_rs256_sign": round(floors.get("es256_plus_rs256_sign"), 1)},
        "steps": steps,
        "flatness": flatness(steps),
    }, failed


def _refresh_scenario(size: int, bodies: Path, check: str) -> Scenario:
    return Scenario(
        key=f"refresh_token_rotation_at_{size}",
        endpoint="refresh_token_rotation",
        server=ES256_SERVER,
        path="/token",
        bodies=bodies,
        once=True,
        expected=frozenset({200}),
        headers={"Content-Type": FORM},
        floor="es256_plus_rs256_sign",
        floor_label="1 ES256 + 1 RS256 signature",
        check_body=check,
        check=access_token_check("ES256", refresh=True),
    )


def _check_rotations(result: ScenarioResult, rotated: int) -> None:
    if result.wrk is None or result.failures:
        return
    answered = result.wrk.statuses.get(200, 0) + 1  # + the check request
    result.notes.append(f"{rotated} rotations in the database for {answered} answered refreshes")
    if not answered <= rotated <= answered + result.connections:
        result.failures.append(f"{rotated} rotations in the database, but {answered} refreshes answered 200")


def flatness(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """p50, p99 and throughput at the largest size over the smallest; flat if p50 grew by at most 20%."""
    measured = [step for step in steps if step["run"]["wrk"] and not step["run"]["failures"]]
    if len(measured) < 2:
        return None
    first, last = measured[0]["run"]["wrk"], measured[-1]["run"]["wrk"]
    p50 = last["latency_ms"]["p50"] / first["latency_ms"]["p50"] if first["latency_ms"]["p50"] else None
    return {
        "from": measured[0]["stored_refresh_tokens"],
        "to": measured[-1]["stored_refresh_tokens"],
        "p50_ratio": None if p50 is None else round(p50, 3),
        "p99_ratio": round(last["latency_ms"]["p99"] / first["latency_ms"]["p99"], 3)
        if first["latency_ms"]["p99"]
        else None,
        "throughput_ratio": round(last["requests_per_second"] / first["requests_per_second"], 3)
        if first["requests_per_second"]
        else None,
        "goal": f"p50 within {FLAT - 1:.0%}",
        "flat": None if p50 is None else p50 <= FLAT,
    }


def markdown(document: dict[str, Any]) -> str:
    lines = [
        "| stored refresh tokens | users | req/s | p50 ms | p99 ms | CPU ms/req | others |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for step in document["steps"]:
        run, wrk = step["run"], step["run"]["wrk"]
        if wrk is None or run["failures"]:
            lines.append(f"| {step['stored_refresh_tokens']:,} | {step['users']:,} | failed | | | | |")
            continue
        lines.append(
            f"| {step['stored_refresh_tokens']:,} | {step['users']:,} | {wrk['requests_per_second']:,.0f}"
            f" | {wrk['latency_ms']['p50']:.1f} | {wrk['latency_ms']['p99']:.1f}"
            f" | {run['server']['cpu_ms_per_request'] or 0:.2f} | {run['other_cpu_cores_used']} |"
        )
    flat = document.get("flatness")
    if flat:
        verdict = "flat" if flat["flat"] else "**not flat**"
        lines += [
            "",
            f"From {flat['from']:,} to {flat['to']:,} stored refresh tokens: p50 x{flat['p50_ratio']},"
            f" p99 x{flat['p99_ratio']}, throughput x{flat['throughput_ratio']} ({flat['goal']}: {verdict}).",
        ]
    notes = [f"- {step['run']['key']}: {note}" for step in document["steps"] for note in step["run"]["notes"]]
    notes += [f"- **{step['run']['key']} failed**: {f}" for step in document["steps"] for f in step["run"]["failures"]]
    return "\n".join(lines + (["", *notes] if notes else []))


async def copy_users(dsn: str, count: int) -> None:
    """`count` accounts sharing one password hash (nobody signs in with them; they make the table big)."""
    password_hash = PasswordHasher().hash(secrets.token_urlsafe(16))
    now = int(time.time())
    columns = ["id", "username", "username_key", "email_verified", "name", "password_hash", "disabled", "created_at"]

    def rows(start: int, stop: int) -> Iterator[tuple[Any, ...]]:
        for index in range(start, stop):
            username = f"growth-{index}"
            yield (_user_id(index), username, username, False, f"User {index}", password_hash, False, now)

    with _no_cycle_collection():
        await _copy(dsn, "users", columns, count, rows)


async def copy_refresh_tokens(dsn: str, count: int, seeded: Seeded, users: int) -> None:
    """`count` live refresh tokens of the app, each in a grant of its own, for random users and sessions."""
    now = int(time.time())
    audience, amr = json.dumps([AUDIENCE]), json.dumps(["pwd"])
    grant_columns = ["id", "client_id", "user_id", "sid", "scope", "audience", "offline", "auth_time", "amr"]
    grant_columns += ["created_at", "expires_at"]
    token_columns = ["token_hash", "grant_id", "created_at", "expires_at"]
    user_ids = [_user_id(index) for index in range(max(users, 1))]
    grant_expiry, token_expiry = now + 30 * 86400, now + 14 * 86400
    connection = await asyncpg.connect(dsn)
    # As PostgreSQL's "Populating a Database" advises: secondary indexes dropped during the load and built
    # again after it, in one sort each, rather than maintained row by row (keys and constraints stay).
    indexes = await connection.fetch(
        "SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS definition FROM pg_index"
        " WHERE indrelid = ANY(ARRAY['grants'::regclass, 'refresh_tokens'::regclass])"
        " AND NOT indisprimary AND NOT indisunique"
    )
    for index in indexes:
        await connection.execute(f"DROP INDEX {index['name']}")  # regclass text: quoted as needed
    try:
        for start in range(0, count, COPY_CHUNK):
            size = min(COPY_CHUNK, count - start)
            # Random values in bulk (one urandom call per column), cut into hex strings: row by row in
            # Python would take longer than the COPY itself.
            ids, sids, hashes = _hex_strings(size, 16), _hex_strings(size, 16), _hex_strings(size, 32)
            owners = random.choices(user_ids, k=size)
            grant_rows = [
                (grant_id, seeded.app_client_id, owner, sid, "openid profile", audience, False, now, amr, now,
                 grant_expiry)
                for grant_id, owner, sid in zip(ids, owners, sids, strict=True)
            ]  # fmt: skip
            await connection.copy_records_to_table("grants", records=grant_rows, columns=grant_columns)
            token_rows = [(token, grant_id, now, token_expiry) for token, grant_id in zip(hashes, ids, strict=True)]
            await connection.copy_records_to_table("refresh_tokens", records=token_rows, columns=token_columns)
            say(f"  {start + size:,} / {count:,}")
    finally:
        for index in indexes:
            await connection.execute(index["definition"])
        await connection.close()


def _hex_strings(count: int, size: int) -> list[str]:
    text = os.urandom(count * size).hex()
    width = 2 * size
    return [text[offset : offset + width] for offset in range(0, len(text), width)]


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Millions of fresh tuples would set the cycle collector off again and again, for nothing."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _copy(dsn: str, table: str, columns: list[str], count: int, rows: Any) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        for start in range(0, count, COPY_CHUNK):
            stop = min(start + COPY_CHUNK, count)
            await connection.copy_records_to_table(table, records=rows(start, stop), columns=columns)
    finally:
        await connection.close()


def _user_id(index: int) -> str:
    return f"growth-user-{index:08d}"


async def _count(dsn: str, table: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608  (our table names)
    finally:
        await connection.close()


async def _analyze(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def _admin(server: str, statement: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(server))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _asyncpg_dsn(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.growth", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k tokens, 10k users, 3 s each")
    parser.add_argument("--sizes", type=lambda text: [int(part) for part in text.split(",")], help="e.g. 10000,1000000")
    parser.add_argument("--users", type=int, help=f"accounts in the database (default {USERS:,})")
    parser.add_argument("--duration", type=float, help="seconds of load per size (default 10, --quick 3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="a PostgreSQL server to make the scratch database on")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the scratch database")
    parser.add_argument("--output", type=Path, help="where to write the JSON (default benchmarks/results/)")
    parser.add_argument("--no-save", action="store_true", help="print the table only")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
