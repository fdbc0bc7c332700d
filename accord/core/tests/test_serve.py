"""`accord serve`: web server, worker and beat start, answer and stop together.

These tests start the real command in a child process against a throwaway
SQLite database and a broker folder under a temporary directory, so they
never touch the developer's data or a shared broker queue.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from accord.core.priority import BACKGROUND_NICENESS
from conftest import free_port

START_TIMEOUT = 60  # seconds; a cold start takes a few
STOP_TIMEOUT = 40  # seconds; above the command's own 20 s grace period


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, waiting = set(), [pid]
    while waiting:
        for child in children.get(waiting.pop(), []):
            found.add(child)
            waiting.append(child)
    return found


def alive(pid: int) -> bool:
    """True for a running process; a zombie waiting to be reaped counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def niceness(pid: int) -> int:
    """The nice value of `pid`, read from /proc (field 19 of its stat line)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def greeting(port: int) -> bytes:
    """The first line the mail listener on `port` says, waiting a little for it to start."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                return conn.recv(200)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class Server:
    """`accord serve` in a child process, with its output collected."""

    def __init__(self, tmp_path: Path):
        self.port = free_port()
        self.smtp_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {key: value for key, value in os.environ.items()
               if key not in ("DEMO_PASSWORD", "HOST", "PORT")}
        env |= {
            "ACCORD_VAR_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
            "BROKER_URL": "filesystem://",
            "DJANGO_SETTINGS_MODULE": "accord.settings",
            "SMTP_PORT": str(self.smtp_port),
        }
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and command
            [sys.executable, "-m", "accord", "serve", "--port", str(self.port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            # Celery's folder broker keeps a control folder in the working directory.
            cwd=tmp_path,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_until_announced(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while f"Accord is running at {self.url}" not in self.output:
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"accord serve did not start:\n{self.output}")
            time.sleep(0.2)

    def child(self, word: str) -> int:
        """The pid of the direct child whose command line contains `word`."""
        for pid in descendants(self.process.pid):
            if word in command_line(pid) and self.parent_of(pid) == self.process.pid:
                return pid
        raise AssertionError(f"no child running {word}")

    @staticmethod
    def parent_of(pid: int) -> int:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])

    def wait(self) -> int:
        code = self.process.wait(timeout=STOP_TIMEOUT)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def server(tmp_path):
    started = Server(tmp_path)
    yield started
    started.kill()


def test_serve_answers_health_checks_and_stops_every_child_on_sigterm(server):
    server.wait_until_announced()

    healthz = get(f"{server.url}/healthz")
    readyz = get(f"{server.url}/readyz")
    smtp_greeting = greeting(server.smtp_port)
    processes = descendants(server.process.pid)
    worker, web = server.child(" worker "), server.child("gunicorn")
    pool = descendants(worker)
    priorities = {"web": niceness(web), "worker": niceness(worker),
                  "pool": {niceness(pid) for pid in pool}}
    server.process.send_signal(signal.SIGTERM)
    code = server.wait()

    assert (healthz, readyz) == (200, 200)
    # Background work gives way to people's requests: the worker and the
    # processes it forks run nicer than the web server.
    base = os.nice(0)
    assert priorities == {"web": base, "worker": max(BACKGROUND_NICENESS, base),
                          "pool": {max(BACKGROUND_NICENESS, base)}}
    assert smtp_greeting.startswith(b"220 ")
    assert len(processes) >= 4 + 2  # four children, and gunicorn's and Celery's workers
    assert code == 0
    assert server.output.rstrip().endswith("Accord stopped.")
    assert [pid for pid in processes if alive(pid)] == []


def test_serve_stops_on_ctrl_c_and_prints_no_sign_in_without_a_demo(server):
    server.wait_until_announced()
    processes = descendants(server.process.pid)

    server.process.send_signal(signal.SIGINT)
    code = server.wait()

    assert code == 0
    assert [pid for pid in processes if alive(pid)] == []
    assert "Demo sign-in" not in server.output


def test_serve_stops_the_rest_and_fails_when_a_child_dies(server):
    server.wait_until_announced()
    processes = descendants(server.process.pid)
    beat = server.child(" beat ")

    os.kill(beat, signal.SIGKILL)
    code = server.wait()

    assert code == 1
    assert "CommandError: The Celery beat was killed by SIGKILL; the other processes were " \
        "stopped too." in server.output
    assert [pid for pid in processes if alive(pid)] == []


def test_serve_refuses_a_port_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = os.environ | {"ACCORD_VAR_DIR": str(tmp_path), "BROKER_URL": "filesystem://",
                            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
                            "SMTP_PORT": str(free_port())}

        result = subprocess.run(  # noqa: S603 - our own interpreter and command
            [sys.executable, "-m", "accord", "serve", "--port", str(port)],
            env=env, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
        )

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"CommandError: Cannot listen on 127.0.0.1:{port}: Address already in use. "
        "Choose another port with --port or PORT."
    )
