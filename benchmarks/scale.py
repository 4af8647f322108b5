"""Scale-out: the same endpoints on 1, 2 and 4 worker processes, and on two instances behind nginx.

Issue 6 asks to show that the design has no single-process state. Every configuration serves the
same database, a scratch PostgreSQL database made for the run (`--scale-server`), seeded once:

- `workers-N`: one `passportoffice serve --workers N` (a supervisor and N workers on one port);
- `nginx-2-instances`: two separate `passportoffice serve` processes sharing PostgreSQL and, when it
  answers, Redis (`redis_url`: login throttling and seen assertions), behind nginx from Debian
  (`apt-get install nginx`) run in the foreground with a generated configuration on loopback ports.
  Without nginx the run says so in one line and leaves this configuration out.

Each configuration is measured with the same wrk runs and checks as `make bench` (`measure.run_phase`):
client credentials, refresh with rotation (fresh tokens per configuration, counted in the database
afterwards), discovery and JWKS; `--quick` runs the two token endpoints for 2 s on 1 and 2 workers
and behind nginx. Servers are not pinned: several workers are there to use several
CPUs. CPU time and RSS are summed over each server's process tree (supervisor, workers, nginx), and
RSS is also kept per process. On a 2-CPU machine, beyond 2 workers shows the cost of more processes
than CPUs, not a gain; wrk shares the same CPUs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import secrets
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa

from benchmarks.console import say
from benchmarks.floors import Floors
from benchmarks.measure import Bench, check_rotations, run_phase
from benchmarks.processes import command_line, rss_mb, tree, tree_cpu_seconds, tree_rss_mb
from benchmarks.report import requests_per_second
from benchmarks.scenarios import ENDPOINTS, ServerSetup, build
from benchmarks.seed import add_refresh_requests, rotated_count, seed
from benchmarks.server import Server, ServerFailed, free_port, passportoffice_executable
from benchmarks.wrk import Load
from passportoffice.bootstrap import load_settings

__all__ = ["DEFAULT_SERVER", "find_nginx", "run_scale", "scale_markdown", "write_scale_chart"]

DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
WORKERS = (1, 2, 4)
QUICK_WORKERS = (1, 2)
QUICK_SECONDS = 2.0  # --quick: the self-check that every configuration serves and rotates, kept short
NGINX = "nginx-2-instances"
ENDPOINT_KEYS = ("client_credentials_es256", "refresh_token_rotation", "discovery", "jwks")
QUICK_ENDPOINT_KEYS = ("client_credentials_es256", "refresh_token_rotation")
SEED_MARGIN = 1.5


def find_nginx() -> str | None:
    # Debian installs it in /usr/sbin, which is not on every user's PATH.
    return shutil.which("nginx") or (str(Path("/usr/sbin/nginx")) if Path("/usr/sbin/nginx").exists() else None)


def run_scale(
    *,
    wrk: str,
    taskset: str | None,
    load: Load,
    workdir: Path,
    floors: Floors,
    server: str,
    redis_url: str | None,
    quick: bool,
) -> dict[str, Any]:
    """Every configuration on a scratch database on `server`; returns the document's `scale` section."""
    notes: list[str] = []
    nginx = find_nginx()
    if nginx is None:
        say("nginx not found (apt-get install nginx): the two-instance scenario is left out")
        notes.append("nginx not found: the two instances behind a reverse proxy were not measured")
    if redis_url and not asyncio.run(_redis_answers(redis_url)):
        notes.append(f"Redis does not answer at {redis_url}: the two instances share PostgreSQL only")
        redis_url = None
    name = f"po_scale_{secrets.token_hex(4)}"
    url = sa.make_url(server).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    say(f"scale-out: scratch database {name}")
    try:
        return _run(wrk, taskset, load, workdir / "scale", floors, url, nginx, redis_url, quick, notes)
    finally:
        asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _run(
    wrk: str,
    taskset: str | None,
    load: Load,
    workdir: Path,
    floors: Floors,
    url: str,
    nginx: str | None,
    redis_url: str | None,
    quick: bool,
    notes: list[str],
) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    if quick:
        load = dataclasses.replace(load, duration=min(load.duration, QUICK_SECONDS))
    secret_key = secrets.token_urlsafe(32)
    settings = load_settings(data_dir=workdir / "data", secret_key=secret_key, database_url=url)
    usable = len(os.sched_getaffinity(0))
    per_core = math.ceil(floors.get("es256_plus_rs256_sign") * load.duration * SEED_MARGIN) + 500
    seeded = asyncio.run(seed(settings, workdir, refresh_tokens=per_core, logins=0))
    env = dict(os.environ) | {
        "PASSPORTOFFICE_DATA_DIR": str(settings.data_dir),
        "PASSPORTOFFICE_SECRET_KEY": secret_key,
        "PASSPORTOFFICE_DATABASE_URL": url,
    }
    bench = Bench(
        wrk=wrk,
        taskset=taskset,
        load=load,
        workdir=workdir,
        floors=floors,
        ours_env=env,
        settings=settings,
        seeded=seeded,
        peer_refresh_tokens=0,
        peer_problem="no peer in the scale-out runs",
    )
    # name, instances, workers per instance
    configurations: list[tuple[str, int, int]] = [(f"workers-{n}", 1, n) for n in (QUICK_WORKERS if quick else WORKERS)]
    if nginx is not None:
        configurations.append((NGINX, 2, 1))
    wanted = QUICK_ENDPOINT_KEYS if quick else ENDPOINT_KEYS
    templates = {scenario.key: scenario for scenario in build(seeded, workdir) if scenario.key in wanted}
    runs: list[dict[str, Any]] = []
    failed: list[str] = []
    for configuration, instances, workers in configurations:
        setup = ServerSetup(f"scale-{configuration}", phase=configuration, cpus=None)
        scenarios = []
        for key in wanted:
            scenario = dataclasses.replace(templates[key], key=f"{key}@{configuration}", server=setup)
            if key == "refresh_token_rotation":  # never-used tokens for each configuration
                bodies = workdir / f"refresh-{configuration}.txt"
                count = per_core * min(instances * workers, usable)
                check = asyncio.run(add_refresh_requests(settings, seeded, count, bodies))
                scenario = dataclasses.replace(scenario, bodies=bodies, check_body=check)
            scenarios.append(scenario)
        rotated_before = asyncio.run(rotated_count(settings, seeded.app_client_id))
        started: dict[str, Server] = {}
        results = run_phase(bench, [setup], scenarios, _starter(nginx, redis_url, instances, workers, started))
        for result in results:
            endpoint = result.key.split("@")[0]
            result.title = f"{ENDPOINTS[endpoint]} [{_label(configuration)}]"
            if endpoint == "refresh_token_rotation" and result.wrk is not None and not result.failures:
                rotated = asyncio.run(rotated_count(settings, seeded.app_client_id)) - rotated_before
                check_rotations(result, rotated)
            failed += [f"{result.key}: {failure}" for failure in result.failures]
            entry = result.as_dict() | {"configuration": configuration, "instances": instances, "workers": workers}
            group = started.get(setup.name)
            if isinstance(group, _Measured):
                entry["processes"] = {"idle": group.idle_processes or [], "after": group.processes or []}
            runs.append(entry)
    return {
        "database": "postgresql",
        "redis": redis_url is not None,
        "usable_cpus": usable,
        "configurations": [name for name, _, _ in configurations],
        "runs": runs,
        "speedup": speedup(runs),
        "notes": notes,
        "failures": failed,
    }


def speedup(runs: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per endpoint, each configuration's requests per second over one worker's."""
    found: dict[str, dict[str, float | None]] = {}
    for run in runs:
        endpoint = run["key"].split("@")[0]
        base = next((r for r in runs if r["key"] == f"{endpoint}@workers-1"), None)
        rate, base_rate = requests_per_second(run), requests_per_second(base)
        value = round(rate / base_rate, 2) if rate and base_rate else None
        found.setdefault(endpoint, {})[run["configuration"]] = value
    return found


def _label(configuration: str) -> str:
    if configuration == NGINX:
        return "2 instances behind nginx"
    workers = configuration.split("-")[1]
    return f"{workers} worker{'s' if workers != '1' else ''}"


class _Measured(Server):
    """A server whose CPU and RSS are its whole process tree's, and whose processes are listed."""

    processes: list[dict[str, Any]] | None = None  # at the last RSS reading
    idle_processes: list[dict[str, Any]] | None = None  # once ready, before any load

    def __enter__(self) -> _Measured:
        super().__enter__()
        self.idle_processes = self.processes
        return self

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pid)

    def rss_mb(self) -> float:
        self.processes = _processes([self.pid])
        return tree_rss_mb(self.pid)


class _Proxied(_Measured):
    """nginx in the foreground on its port, in front of two `serve` instances started first."""

    def __init__(self, nginx: str, instances: list[Server], directory: Path, log: Path) -> None:
        self._instances = instances
        self._directory = directory
        super().__init__(self._nginx_command(nginx), {}, log, cpus=None, taskset=None, ready_path="/healthz")

    def _nginx_command(self, nginx: str) -> Callable[[int], list[str]]:
        def command(port: int) -> list[str]:
            upstreams = [instance.port for instance in self._instances]
            (self._directory / "nginx.conf").write_text(nginx_config(port, upstreams, self._directory))
            return [nginx, "-p", str(self._directory), "-c", str(self._directory / "nginx.conf"), "-e", "stderr"]

        return command

    def __enter__(self) -> _Proxied:
        try:
            for instance in self._instances:
                instance.__enter__()
            Server.__enter__(self)
        except BaseException:
            for instance in self._instances:
                instance.stop()
            raise
        self.idle_processes = self.processes
        return self

    def stop(self) -> None:
        super().stop()
        for instance in self._instances:
            instance.stop()

    def check_alive(self) -> None:
        super().check_alive()
        for instance in self._instances:
            instance.check_alive()

    def cpu_seconds(self) -> float:
        return sum(tree_cpu_seconds(pid) for pid in self._pids())

    def rss_mb(self) -> float:
        self.processes = _processes(self._pids())
        return sum(tree_rss_mb(pid) for pid in self._pids())

    def _pids(self) -> list[int]:
        return [self.pid, *(instance.pid for instance in self._instances)]


def _processes(roots: list[int]) -> list[dict[str, Any]]:
    found = []
    for root in roots:
        for pid in tree(root):
            command = command_line(pid)
            if "resource_tracker" in command:
                kind = "multiprocessing resource tracker"
            elif "multiprocessing" in command:
                kind = "worker"
            elif "nginx" in command:
                kind = "nginx"
            else:
                kind = "serve"
            found.append({"pid": pid, "kind": kind, "rss_mb": round(rss_mb(pid), 1)})
    return found


def nginx_config(port: int, upstreams: list[int], directory: Path) -> str:
    servers = "\n".join(f"    server 127.0.0.1:{upstream};" for upstream in upstreams)
    temp = "\n".join(f"  {kind}_temp_path {directory / kind};" for kind in ("proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""daemon off;
master_process on;
worker_processes 1;
pid {directory / "nginx.pid"};
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {directory / "client_body"};
{temp}
  upstream passportoffice {{
{servers}
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://passportoffice;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }}
  }}
}}
"""


def _starter(
    nginx: str | None, redis_url: str | None, instances: int, workers: int, started: dict[str, Server]
) -> Callable[[Bench, ServerSetup], Server]:
    def start(bench: Bench, setup: ServerSetup) -> Server:
        executable = passportoffice_executable()
        log = bench.workdir / f"server-{setup.name}.log"
        if instances == 1:

            def ours(port: int) -> list[str]:
                command = [executable, "serve", "--port", str(port), "--issuer", f"http://localhost:{port}"]
                return [*command, "--workers", str(workers)]

            server: Server = _Measured(ours, bench.ours_env, log, cpus=None, taskset=None)
        else:
            if nginx is None:
                raise ServerFailed("nginx not found")
            proxy_port = free_port()  # the issuer every instance names: the address clients use
            env = bench.ours_env | ({"PASSPORTOFFICE_REDIS_URL": redis_url} if redis_url else {})

            def instance(port: int) -> list[str]:
                return [executable, "serve", "--port", str(port), "--issuer", f"http://localhost:{proxy_port}"]

            members = [
                Server(instance, env, bench.workdir / f"server-{setup.name}-{index}.log", cpus=None, taskset=None)
                for index in range(instances)
            ]
            directory = bench.workdir / "nginx"
            directory.mkdir(exist_ok=True)
            server = _Proxied(nginx, members, directory, log)
            server.port, server.url = proxy_port, f"http://127.0.0.1:{proxy_port}"
        started[setup.name] = server
        return server

    return start


async def _redis_answers(url: str) -> bool:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
        return True
    except (OSError, aioredis.RedisError):
        return False
    finally:
        await client.aclose()


async def _admin(server: str, statement: str) -> None:
    dsn = sa.make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def scale_markdown(scale: dict[str, Any]) -> str:
    """Requests per second per endpoint and configuration, with the speed-up over one worker."""
    configurations = scale["configurations"]
    by_key = {run["key"]: run for run in scale["runs"]}
    endpoints = list(dict.fromkeys(run["key"].split("@")[0] for run in scale["runs"]))
    lines = [
        "| endpoint | " + " | ".join(_label(name) for name in configurations) + " |",
        "|---|" + "---:|" * len(configurations),
    ]
    for endpoint in endpoints:
        cells = []
        for name in configurations:
            run = by_key.get(f"{endpoint}@{name}")
            rate = requests_per_second(run)
            if run is None or rate is None:
                cells.append("failed" if run else "-")
                continue
            factor = scale["speedup"].get(endpoint, {}).get(name)
            cpu = run["server"]["cpu_ms_per_request"]
            latency = run["wrk"]["latency_ms"]
            cells.append(
                f"{rate:,.0f}/s (x{factor or 0:.2f}), {cpu or 0:.2f} CPU ms, p50/p99"
                f" {latency['p50']:.1f}/{latency['p99']:.1f} ms"
            )
        lines.append(f"| {ENDPOINTS[endpoint]} | " + " | ".join(cells) + " |")
    lines += ["", "RSS per process once ready, and after the last run (MB):", ""]
    for name in configurations:
        run = next((run for run in scale["runs"] if run["configuration"] == name and run.get("processes")), None)
        if run:
            idle = ", ".join(f"{p['kind']} {p['rss_mb']:.0f}" for p in run["processes"]["idle"])
            after = ", ".join(f"{p['kind']} {p['rss_mb']:.0f}" for p in run["processes"]["after"])
            lines.append(f"- {_label(name)}: {idle} (after the runs: {after})")
    where = "PostgreSQL" + (" and Redis" if scale.get("redis") else "")
    lines += [
        "",
        f"Every configuration shares one {where} database; servers unpinned on {scale['usable_cpus']} CPUs,"
        " wrk among them. CPU ms is per response, summed over the server's processes (nginx included);"
        " PostgreSQL's own processes count among the others, so on 2 CPUs the database, the servers and wrk"
        " compete for the same cores.",
    ]
    lines += [f"- {note}" for note in scale.get("notes", [])]
    lines += [f"- **failed**: {failure}" for failure in scale.get("failures", [])]
    return "\n".join(lines)


def write_scale_chart(scale: dict[str, Any], path: Path) -> Path | None:
    """Grouped bars: requests per second per endpoint, one bar per configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configurations = scale["configurations"]
    endpoints = list(dict.fromkeys(run["key"].split("@")[0] for run in scale["runs"]))
    if not endpoints:
        return None
    by_key = {run["key"]: run for run in scale["runs"]}
    figure, axes = plt.subplots(figsize=(10, 1.2 * len(endpoints) + 1.8), dpi=110)
    try:
        height = 0.8 / len(configurations)
        for index, name in enumerate(configurations):
            values = [requests_per_second(by_key.get(f"{endpoint}@{name}")) or 0 for endpoint in endpoints]
            positions = [row + (index - (len(configurations) - 1) / 2) * height for row in range(len(endpoints))]
            bars = axes.barh(positions, values, height=height * 0.95, label=_label(name))
            axes.bar_label(bars, labels=[f"{value:,.0f}" for value in values], padding=3, fontsize=7)
        labels = [textwrap.fill(ENDPOINTS[endpoint], 28) for endpoint in endpoints]
        axes.set_yticks(range(len(endpoints)), labels, fontsize=8)
        axes.invert_yaxis()
        axes.set_xlabel("requests per second (all processes, unpinned)")
        axes.legend(fontsize=8, loc="lower right")
        axes.set_title("Scale-out on one PostgreSQL database", loc="left", fontsize=11)
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path

