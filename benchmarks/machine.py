"""What the figures were measured on, and the two outside tools the run leans on (wrk, taskset)."""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
_PACKAGES = (
    "passportoffice",
    "pyjwt",
    "cryptography",
    "argon2-cffi",
    "uvicorn",
    "uvloop",
    "httptools",
    "starlette",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
)


def find_tool(name: str) -> str | None:
    return shutil.which(name)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe(wrk: str) -> dict[str, Any]:
    versions = {}
    for name in _PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": sorted(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "wrk": _first_line([wrk, "-v"]),
        "git": _first_line(["git", "-C", str(REPO), "describe", "--always", "--dirty"]),
        "packages": versions,
    }


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (not idle, not waiting for I/O) since boot."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU time of this process's finished children (wrk), user plus system."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def pinned(cpus: set[int]) -> Iterator[None]:
    """Run the block on these CPUs only (a no-op where affinity cannot be set)."""
    try:
        previous = os.sched_getaffinity(0)
        os.sched_setaffinity(0, cpus & previous or previous)
    except (AttributeError, OSError):
        yield
        return
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


def _first_line(command: list[str]) -> str:
    try:
        # Fixed argument lists of local tools; nothing here comes from outside.
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"
