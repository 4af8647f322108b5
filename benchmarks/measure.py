"""Running one phase: its servers up together, then each scenario's check request, wrk, and what it cost.

A phase is the scenarios whose servers share a configuration (ES256 tokens, RS256 tokens, logins on
every CPU). Ours, the peer and the ASGI floor start together, each pinned to the server CPU, and each
endpoint is measured on ours and then on the peer: the two see the same machine, seconds apart. An idle
server costs nothing measurable, and CPU is counted per server process.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks import peer
from benchmarks.console import say, tick
from benchmarks.floors import Floors
from benchmarks.machine import REPO, busy_cpu_seconds, children_cpu_seconds
from benchmarks.report import DISTURBED, ScenarioResult
from benchmarks.scenarios import SERVED_FLOORS, Scenario, ServerSetup
from benchmarks.seed import Seeded
from benchmarks.server import Server, ServerFailed, passportoffice_executable
from benchmarks.wrk import Load, WrkFailed, run_wrk
from passportoffice.settings import Settings

WRK_CPUS = "1"


@dataclass(frozen=True)
class Bench:
    """What every phase needs: tools, load, where to write, and what each kind of server is started with."""

    wrk: str
    taskset: str | None
    load: Load
    workdir: Path
    floors: Floors
    ours_env: dict[str, str]
    settings: Settings
    seeded: Seeded
    peer_refresh_tokens: int
    peer_problem: str | None  # why the peer cannot run here, or None


def run_phase(
    bench: Bench,
    setups: list[ServerSetup],
    scenarios: list[Scenario],
    start: Callable[[Bench, ServerSetup], Server] | None = None,
) -> list[ScenarioResult]:
    """`start`: how to start a server of this phase (default: ours, the peer or the ASGI floor by kind)."""
    start = start or _server
    results = {scenario.key: _result(bench, scenario) for scenario in scenarios}
    with contextlib.ExitStack() as stack:
        servers: dict[str, Server] = {}
        for setup in setups:
            try:
                say(f"starting {setup.implementation} ({setup.name})...")
                servers[setup.name] = stack.enter_context(start(bench, setup))
            except (ServerFailed, OSError) as exc:
                for scenario in scenarios:
                    if scenario.server.name == setup.name:
                        results[scenario.key].failures.append(f"{setup.implementation} did not start: {exc}")
        for scenario in scenarios:
            result = results[scenario.key]
            server = servers.get(scenario.server.name)
            if server is None:
                if not result.failures:  # it started, and died or failed in an earlier scenario
                    result.failures.append(f"not run: {scenario.server.implementation} failed in an earlier scenario")
                tick(scenario.title, 0, bench.load.duration, finished=True)
                continue
            say(f"{scenario.title}: {bench.load.duration:g} s, {result.connections} connections...")
            if scenario.floor is not None:
                bench.floors.measure(scenario.floor)  # again, right before: the machine's load changes
                result.floor_per_second = bench.floors.get(scenario.floor)
                result.floor_per_cpu_second = bench.floors.get_per_cpu_second(scenario.floor)
            try:
                _run_scenario(server, scenario, result, bench)
                server.check_alive()
            except (ServerFailed, WrkFailed) as exc:
                result.failures.append(str(exc))
                del servers[scenario.server.name]
            finally:
                tick(scenario.title, 0, bench.load.duration, finished=True)
            if scenario.key in SERVED_FLOORS and result.wrk is not None and not result.failures:
                cpu_ms = result.server_cpu_ms_per_request
                per_cpu_second = 1000 / cpu_ms if cpu_ms else None
                bench.floors.record(SERVED_FLOORS[scenario.key], result.wrk.requests_per_second, per_cpu_second)
    return [results[scenario.key] for scenario in scenarios]


def _result(bench: Bench, scenario: Scenario) -> ScenarioResult:
    cpus = scenario.server.cpus
    return ScenarioResult(
        key=scenario.key,
        title=scenario.title,
        endpoint=scenario.endpoint,
        implementation=scenario.server.implementation,
        floor_name=scenario.floor,
        floor_label=scenario.floor_label,
        floor_per_second=bench.floors.get(scenario.floor) if scenario.floor else 0.0,
        connections=min(bench.load.connections, scenario.max_connections or bench.load.connections),
        server_cpus=cpus if cpus is not None and bench.taskset else "all",
    )


def _server(bench: Bench, setup: ServerSetup) -> Server:
    log = bench.workdir / f"server-{setup.name}.log"
    if setup.kind == "ours":
        executable = passportoffice_executable()

        def ours(port: int) -> list[str]:
            return [executable, "serve", "--port", str(port), "--issuer", f"http://localhost:{port}"]

        return Server(ours, bench.ours_env | setup.env, log, cpus=setup.cpus, taskset=bench.taskset)
    if setup.kind == "asgi":

        def asgi(port: int) -> list[str]:
            return [sys.executable, "-m", "benchmarks.asgi_floor", "--port", str(port)]

        return Server(
            asgi, bench.ours_env, log, cpus=setup.cpus, taskset=bench.taskset, ready_path="/floor.json", cwd=REPO
        )
    if bench.peer_problem is not None:
        raise ServerFailed(bench.peer_problem)
    files = peer.files(bench.workdir, setup.name)

    def node(port: int) -> list[str]:
        peer.write_config(
            files,
            port=port,
            issuer=f"http://localhost:{port}",
            alg=setup.alg,
            seeded=bench.seeded,
            settings=bench.settings,
            refresh_tokens=bench.peer_refresh_tokens if setup.seeds_refresh_tokens else 0,
        )
        return peer.command(files.config)

    return Server(
        node,
        peer.environment(bench.ours_env),
        log,
        cpus=setup.cpus,
        taskset=bench.taskset,
        ready_path="/.well-known/openid-configuration",
        ready_timeout=peer.READY_TIMEOUT,
    )


def _run_scenario(server: Server, scenario: Scenario, result: ScenarioResult, bench: Bench) -> None:
    headers, load = scenario.headers, bench.load
    sent = scenario.check_request_body()
    url = server.url + scenario.path
    if scenario.method == "GET":
        answer = httpx.get(url, headers=headers, timeout=30)
    else:
        answer = httpx.post(url, content=sent, headers=headers, timeout=30)
    problem = scenario.check(answer, sent)
    if problem is not None:
        result.failures.append(f"the check request before the run failed: {problem}")
        return
    connections = result.connections
    cpu_before, wall_before = server.cpu_seconds(), time.monotonic()
    busy_before, wrk_before = busy_cpu_seconds(), children_cpu_seconds()
    outcome = run_wrk(
        bench.wrk,
        url,
        Load(load.duration, connections, min(load.threads, connections)),
        method=scenario.method,
        bodies=scenario.bodies,
        once=scenario.once,
        expected=scenario.expected,
        headers=headers,
        taskset=bench.taskset,
        cpus=WRK_CPUS,
        tick=lambda elapsed: tick(scenario.title, elapsed, load.duration),
    )
    wall = time.monotonic() - wall_before
    server_cpu = server.cpu_seconds() - cpu_before
    wrk_cpu = children_cpu_seconds() - wrk_before
    result.server_cpu_cores = round(server_cpu / wall, 2)
    result.wrk_cpu_cores = round(wrk_cpu / wall, 2)
    result.other_cpu_cores = round(max(0.0, busy_cpu_seconds() - busy_before - server_cpu - wrk_cpu) / wall, 2)
    if result.other_cpu_cores > DISTURBED:
        result.notes.append(f"other processes used {result.other_cpu_cores} cores during the run: figures disturbed")
    result.server_rss_mb = round(server.rss_mb(), 1)
    result.server_idle_rss_mb = server.idle_rss_mb
    result.wrk = outcome
    unexpected = outcome.unexpected(scenario.expected)
    if outcome.exhausted:
        result.failures.append(f"ran out of seeded single-use requests ({outcome.exhausted} over): raise SEED_MARGIN")
    elif unexpected:
        result.failures.append(f"unexpected statuses {unexpected}; first: {outcome.unexpected_sample!r}")
    if outcome.socket_errors:
        result.failures.append(f"socket errors {outcome.socket_errors}")
    if outcome.requests == 0:
        result.failures.append("no responses at all")
    ratio = result.ratio
    if ratio is not None and ratio > 1.05 and scenario.server.kind == "ours":
        result.notes.append("faster than its floor: the floor measurement was disturbed (a noisy machine?)")
    say(
        f"  {outcome.requests_per_second:,.0f} req/s, p50 {outcome.latency_ms['p50']:.1f} ms, "
        f"p99 {outcome.latency_ms['p99']:.1f} ms, ratio to floor {ratio or 0:.2f}, "
        f"server {result.server_cpu_cores} cores, {result.server_rss_mb:.0f} MB, "
        f"wrk {result.wrk_cpu_cores}, others {result.other_cpu_cores}"
    )


def check_rotations(result: ScenarioResult, rotated: int) -> None:
    # wrk stops counting with requests in flight, so the database may hold up to one per connection more.
    assert result.wrk is not None
    answered = result.wrk.statuses.get(200, 0) + 1  # + the check request
    result.notes.append(f"{rotated} rotations in the database for {answered} answered refreshes")
    if not answered <= rotated <= answered + result.connections:
        result.failures.append(f"{rotated} rotations in the database, but {answered} refreshes answered 200")
