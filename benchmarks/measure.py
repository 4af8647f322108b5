"""Running one server set-up's scenarios: a check request, wrk, and what the server and machine used."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

from benchmarks.floors import Floors
from benchmarks.machine import busy_cpu_seconds, children_cpu_seconds
from benchmarks.report import ScenarioResult
from benchmarks.scenarios import Scenario, ServerSetup
from benchmarks.server import Server, ServerFailed
from benchmarks.wrk import Load, WrkFailed, run_wrk

WRK_CPUS = "1"
# CPU used by anything but the server and wrk, in cores, above which a figure is flagged as disturbed.
DISTURBED = 0.2


def run_group(
    setup: ServerSetup,
    group: list[Scenario],
    env: dict[str, str],
    workdir: Path,
    wrk: str,
    taskset: str | None,
    load: Load,
    floors: Floors,
) -> list[ScenarioResult]:
    results = [
        ScenarioResult(
            key=scenario.key,
            title=scenario.title,
            floor_name=scenario.floor,
            floor_label=scenario.floor_label,
            floor_per_second=floors.get(scenario.floor),
            connections=min(load.connections, scenario.max_connections or load.connections),
            server_cpus=setup.cpus if setup.cpus is not None and taskset else "all",
        )
        for scenario in group
    ]
    try:
        with Server(env, workdir / f"server-{setup.name}.log", cpus=setup.cpus, taskset=taskset) as server:
            for scenario, result in zip(group, results, strict=True):
                _say(f"{scenario.title}: {load.duration:g} s, {result.connections} connections...")
                floors.measure(scenario.floor)  # again, right before: the machine's load changes
                result.floor_per_second = floors.get(scenario.floor)
                _run_scenario(server, scenario, result, load, wrk, taskset)
                server.check_alive()
    except (ServerFailed, WrkFailed) as exc:
        for result in results:
            if result.wrk is None and not result.failures:
                result.failures.append(str(exc))
    return results


def _run_scenario(
    server: Server, scenario: Scenario, result: ScenarioResult, load: Load, wrk: str, taskset: str | None
) -> None:
    headers = scenario.headers
    answer = httpx.post(server.url + scenario.path, content=scenario.check_body, headers=headers, timeout=30)
    problem = scenario.check(answer)
    if problem is not None:
        result.failures.append(f"the check request before the run failed: {problem}")
        return
    connections = result.connections
    cpu_before, wall_before = server.cpu_seconds(), time.monotonic()
    busy_before, wrk_before = busy_cpu_seconds(), children_cpu_seconds()
    outcome = run_wrk(
        wrk,
        server.url + scenario.path,
        Load(load.duration, connections, min(load.threads, connections)),
        bodies=scenario.bodies,
        once=scenario.once,
        expected=scenario.expected,
        headers=headers,
        taskset=taskset,
        cpus=WRK_CPUS,
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
    if ratio is not None and ratio > 1.05:
        result.notes.append("faster than its floor: the floor measurement was disturbed (a noisy machine?)")
    _say(
        f"  {outcome.requests_per_second:,.0f} req/s, p50 {outcome.latency_ms['p50']:.1f} ms, "
        f"p99 {outcome.latency_ms['p99']:.1f} ms, ratio {ratio or 0:.2f}, server {result.server_cpu_cores} cores, "
        f"wrk {result.wrk_cpu_cores}, others {result.other_cpu_cores}"
    )


def check_rotations(result: ScenarioResult, rotated: int) -> None:
    # wrk stops counting with requests in flight, so the database may hold up to one per connection more.
    assert result.wrk is not None
    answered = result.wrk.statuses.get(200, 0) + 1  # + the check request
    result.notes.append(f"{rotated} rotations in the database for {answered} answered refreshes")
    if not answered <= rotated <= answered + result.connections:
        result.failures.append(f"{rotated} rotations in the database, but {answered} refreshes answered 200")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
