"""`passportoffice demo` as a real process: what `make run` starts, shared with the browser tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_TIMEOUT = 30


@dataclass
class Demo:
    process: subprocess.Popen[bytes]
    provider: str  # the issuer, http://localhost:PORT
    app: str  # the demo app, http://localhost:APP_PORT
    api: str  # the notes API, http://localhost:API_PORT (also its audience)
    data_dir: Path
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports (never the fixed demo ports 9000-9003 other runs may use)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports and not 9000 <= port <= 9003:
            ports.append(port)
    return ports


def demo_env() -> dict[str, str]:
    """The environment without PASSPORTOFFICE_* from outside the test run, with cheap argon2."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PASSPORTOFFICE_")}
    # Cheap argon2 in tests; the OWASP defaults are checked on their own.
    return env | {"PASSPORTOFFICE_ARGON2_TIME_COST": "1", "PASSPORTOFFICE_ARGON2_MEMORY_COST": "64"}


def command() -> list[str]:
    script = Path(sys.executable).with_name("passportoffice")
    if script.exists():  # the installed console script, as `make run` runs it
        return [str(script)]
    return [sys.executable, "-c", "from passportoffice.cli.main import app; app()"]


@contextmanager
def running_demo(data_dir: Path, logs: Path) -> Iterator[Demo]:
    """Start the demo on three free ports, wait until all answer, stop it with Ctrl-C (SIGINT) at the end."""
    port, app_port, api_port = free_ports(3)
    logs.mkdir(parents=True, exist_ok=True)
    stdout, stderr = logs / f"demo-{port}.out", logs / f"demo-{port}.err"
    # Output goes to files, not pipes: a full pipe would block the server mid-test.
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [*command(), "demo", "--port", str(port), "--app-port", str(app_port), "--api-port", str(api_port),
             "--data-dir", str(data_dir)],
            env=demo_env(),
            stdout=out,
            stderr=err,
        )
    demo = Demo(process, f"http://localhost:{port}", f"http://localhost:{app_port}", f"http://localhost:{api_port}",
                data_dir, stdout, stderr)
    try:
        _wait_until_up(demo)
        yield demo
    finally:
        stop(demo)


def stop(demo: Demo) -> int:
    """Ctrl-C, as a person stops `make run`; returns the exit code."""
    if demo.process.poll() is None:
        demo.process.send_signal(signal.SIGINT)
        try:
            demo.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            demo.process.kill()
            demo.process.wait(timeout=10)
    return demo.process.returncode


def _wait_until_up(demo: Demo) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    pending = [f"{demo.provider}/healthz", f"{demo.app}/", f"{demo.api}/healthz"]
    while pending:
        if demo.process.poll() is not None:
            raise AssertionError(f"the demo exited with {demo.process.returncode}:\n{demo.output()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the demo did not answer within {STARTUP_TIMEOUT} s:\n{demo.output()}")
        try:
            if httpx.get(pending[0], timeout=2).status_code == 200:
                pending.pop(0)
                continue
        except httpx.TransportError:
            pass
        time.sleep(0.1)


@contextmanager
def running_demo_api(issuer: str, audience: str, origin: str, logs: Path) -> Iterator[str]:
    """`passportoffice demo-api` as its own process on a free port; yields its URL once /healthz answers."""
    (port,) = free_ports(1)
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"demo-api-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command(), "demo-api", "--issuer", issuer, "--audience", audience, "--port", str(port),
             "--origin", origin],
            env=demo_env(), stdout=output, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(f"demo-api exited with {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"demo-api did not answer within {STARTUP_TIMEOUT} s:\n{log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 0, log.read_text()
    assert "Traceback" not in log.read_text()
