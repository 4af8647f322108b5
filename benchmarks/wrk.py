"""Running wrk with benchmarks/lua/requests.lua and reading the JSON line its done() prints."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parent / "lua" / "requests.lua"
_MARKER = "BENCH_RESULT "


class WrkFailed(Exception):
    """wrk did not run or printed no result."""


@dataclass(frozen=True)
class Load:
    """How hard to push: wrk's -d, -c and -t."""

    duration: float
    connections: int
    threads: int


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    statuses: dict[int, int]
    socket_errors: dict[str, int]
    exhausted: int
    unexpected_sample: str
    latency_ms: dict[str, float]

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def unexpected(self, expected: frozenset[int]) -> dict[int, int]:
        return {status: count for status, count in self.statuses.items() if status not in expected}

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "requests_per_second": round(self.requests_per_second, 1),
            "statuses": {str(status): count for status, count in sorted(self.statuses.items())},
            "socket_errors": self.socket_errors,
            "latency_ms": self.latency_ms,
        }


def run_wrk(
    wrk: str,
    url: str,
    load: Load,
    *,
    method: str = "POST",
    bodies: Path | None,
    once: bool,
    expected: frozenset[int],
    headers: dict[str, str],
    taskset: str | None,
    cpus: str | None,
    tick: Callable[[float], None] | None = None,
) -> WrkResult:
    """Run wrk once; `tick(elapsed_seconds)` is called a few times a second while it runs."""
    command = [
        wrk,
        "-t",
        str(load.threads),
        "-c",
        str(load.connections),
        "-d",
        f"{load.duration:g}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    if taskset and cpus is not None:
        command = [taskset, "-c", cpus, *command]
    env = os.environ | {
        "BENCH_METHOD": method,
        "BENCH_BODIES": str(bodies) if bodies is not None else "",
        "BENCH_ONCE": "1" if once else "0",
        "BENCH_THREADS": str(load.threads),
        "BENCH_EXPECT": " ".join(str(status) for status in sorted(expected)),
    }
    stdout, stderr, returncode = _run(command, env, load.duration + 60, tick)
    result = parse_output(stdout)
    if result is None:
        raise WrkFailed(f"wrk printed no result (exit {returncode}): {(stderr or stdout).strip()[:500]}")
    return result


def _run(
    command: list[str], env: dict[str, str], timeout: float, tick: Callable[[float], None] | None
) -> tuple[str, str, int]:
    started = time.monotonic()
    try:
        # Fixed arguments for a local tool; the header values are ones we generated.
        process = subprocess.Popen(  # noqa: S603
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        )
    except OSError as exc:
        raise WrkFailed(f"wrk did not run: {exc}") from None
    while True:
        try:
            stdout, stderr = process.communicate(timeout=0.25)
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - started
            if elapsed > timeout:
                process.kill()
                process.communicate()
                raise WrkFailed(f"wrk did not finish within {timeout:.0f} s") from None
            if tick is not None:
                tick(elapsed)
            continue
        return stdout, stderr, process.returncode


def parse_output(stdout: str) -> WrkResult | None:
    """The result line that benchmarks/lua/requests.lua's done() prints, or None without one."""
    for line in stdout.splitlines():
        if line.startswith(_MARKER):
            return _parse(json.loads(line.removeprefix(_MARKER)))
    return None


def _parse(raw: dict[str, Any]) -> WrkResult:
    latency = raw["latency_us"]
    return WrkResult(
        requests=int(raw["requests"]),
        seconds=raw["duration_us"] / 1e6,
        statuses={int(status): int(count) for status, count in raw["statuses"].items()},
        socket_errors={name: int(count) for name, count in raw["errors"].items() if count},
        exhausted=int(raw["exhausted"]),
        unexpected_sample=str(raw["unexpected_sample"]),
        latency_ms={name: round(float(latency[name]) / 1000, 2) for name in ("p50", "p90", "p99", "max", "mean")},
    )
