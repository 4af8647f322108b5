"""One server process on a loopback port, optionally pinned to CPUs with taskset.

`passportoffice serve`, the peer (benchmarks/peer/server.mjs under Node.js) or the ASGI floor
(benchmarks/asgi_floor.py): each is a command line for a port and a path that answers 200 once it is
ready to serve.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import httpx

_STOP_TIMEOUT = 10.0


class ServerFailed(Exception):
    """The server did not start or died; the message ends with the tail of its log."""


class Server:
    def __init__(
        self,
        command: Callable[[int], list[str]],
        env: dict[str, str],
        log_path: Path,
        *,
        cpus: str | None,
        taskset: str | None,
        ready_path: str = "/healthz",
        ready_timeout: float = 30.0,
        cwd: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cpus = cpus if taskset else None
        self.idle_rss_mb: float | None = None  # once ready, before any load
        self._command = command
        self._env = env
        self._log_path = log_path
        self._taskset = taskset
        self._ready_path = ready_path
        self._ready_timeout = ready_timeout
        self._cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        command = self._command(self.port)
        if self.cpus is not None and self._taskset:
            command = [self._taskset, "-c", self.cpus, *command]
        with self._log_path.open("ab") as log:
            # Our own executables with fixed arguments; nothing here comes from outside.
            self._process = subprocess.Popen(  # noqa: S603
                command, env=self._env, cwd=self._cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self._wait_ready()
        self.idle_rss_mb = round(self.rss_mb(), 1)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the whole process (all its threads) so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def check_alive(self) -> None:
        if self._process is None or self._process.poll() is not None:
            raise ServerFailed("the server exited" + self.log_tail())

    def log_tail(self, lines: int = 15) -> str:
        try:
            tail = self._log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\n  server log (" + str(self._log_path) + "):\n    " + "\n    ".join(tail)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
        try:
            process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._ready_timeout
        while time.monotonic() < deadline:
            try:
                self.check_alive()
            except ServerFailed:
                self.stop()
                raise
            try:
                if httpx.get(self.url + self._ready_path, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise ServerFailed(f"the server did not answer {self._ready_path} within {self._ready_timeout:.0f} s" + tail)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def passportoffice_executable() -> str:
    script = Path(sys.executable).parent / "passportoffice"
    if not script.exists():
        raise ServerFailed(f"{script} not found: install the package first (make bench does)")
    return str(script)
