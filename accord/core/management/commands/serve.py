"""`accord serve [--port N]`: the web server, a Celery worker, Celery beat and the
mail listener together.

The four run as child processes, each in its own process group so that
stopping one also stops the processes it forked (gunicorn's and Celery's
workers). The Celery worker runs at a lower CPU priority than the web server
(accord.core.priority), so a long import or export never slows people's
requests. The command stays in the foreground: Ctrl-C or SIGTERM stops all
four, and if one of them dies the others are stopped and the command exits
non-zero, so a supervisor sees the failure instead of half a system.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from accord.core.demo import DEMO_ADMIN_EMAIL, DEMO_SLUG, demo_password
from accord.core.priority import lower_priority

READY_TIMEOUT = 60.0  # seconds; gunicorn answers in two or three on a cold start
STOP_TIMEOUT = 20.0  # seconds; a Celery worker finishes its running task first
POLL = 0.2  # seconds between looks at the children


@dataclass
class Child:
    name: str
    command: list[str]
    background: bool = False  # runs at lower CPU priority than the web server
    process: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def local_address(host: str) -> str:
    """Where this machine reaches a server bound to `host`."""
    if host in ("0.0.0.0", ""):  # noqa: S104 - reading the bind address, not binding
        return "127.0.0.1"
    if host in ("::", "[::]"):
        return "[::1]"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class Command(BaseCommand):
    help = (
        "Serve Accord: gunicorn on HOST (default 127.0.0.1) and --port (default PORT or "
        "8000), with a Celery worker, Celery beat and the support-mail listener on "
        "SMTP_PORT (default 2525). Ctrl-C stops all four."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.PORT,
                            help="Port for the web server (default: PORT or 8000).")

    def handle(self, *args, port: int, **options):
        host = os.environ.get("HOST", "127.0.0.1")
        self._check_port_free(host, port)
        self._check_port_free(host, settings.SMTP_PORT, setting="SMTP_PORT")
        sign_in = self._demo_sign_in()
        children = self._children(host, port)
        stop_requested: list[int] = []

        def request_stop(signum, frame):
            stop_requested.append(signum)

        previous = {sig: signal.signal(sig, request_stop)
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for child in children:
                child.process = subprocess.Popen(  # noqa: S603 - our own interpreter
                    child.command, start_new_session=True,
                    preexec_fn=lower_priority if child.background else None,
                )
            url = f"http://{local_address(host)}:{port}"
            dead = self._wait_until_ready(children, url, stop_requested)
            if dead is None and not stop_requested:
                self._print_banner(url, sign_in)
                dead = self._supervise(children, stop_requested)
        finally:
            self._stop(children)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        if dead is not None:
            code = dead.process.returncode
            how = (f"was killed by {signal.Signals(-code).name}" if code < 0
                   else f"exited with code {code}")
            raise CommandError(
                f"The {dead.name} {how}; the other processes were stopped too.", returncode=1,
            )
        self.stdout.write("Accord stopped.")

    def _children(self, host: str, port: int) -> list[Child]:
        cores = cpu_count()
        python = sys.executable
        return [
            Child("web server (gunicorn)", [
                python, "-m", "gunicorn", "accord.wsgi",
                "--bind", bind_address(host, port),
                # One process per core plus one, each with a few threads for
                # requests that wait on the database or the broker.
                "--workers", str(cores + 1),
                "--worker-class", "gthread", "--threads", "4",
                "--graceful-timeout", "10",
                # Its control socket would otherwise sit in the home folder,
                # shared by every instance on the machine.
                "--control-socket", str(settings.VAR_DIR / "gunicorn.ctl"),
            ]),
            Child("Celery worker", [
                python, "-m", "celery", "-A", "accord", "worker",
                "--loglevel", "INFO", "--concurrency", str(cores),
                # Gossip and mingle only help clusters of workers and add a
                # few seconds to every start.
                "--without-gossip", "--without-mingle",
            ], background=True),
            Child("Celery beat", [
                python, "-m", "celery", "-A", "accord", "beat", "--loglevel", "INFO",
                "--schedule", str(settings.CELERY_BEAT_SCHEDULE_FILENAME),
            ]),
            Child("mail listener", [
                python, "-m", "accord", "smtpd", "--port", str(settings.SMTP_PORT),
            ]),
        ]

    def _check_port_free(self, host: str, port: int, setting: str = "--port or PORT") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host.strip("[]"), port))
            except OSError as exc:
                raise CommandError(
                    f"Cannot listen on {bind_address(host, port)}: {exc.strerror}. "
                    f"Choose another port with {setting}."
                ) from None

    def _demo_sign_in(self) -> str | None:
        """The demo admin's sign-in line, or None when there is no demo organisation."""
        from accord.identity.models import Organization

        try:
            exists = Organization.objects.filter(slug=DEMO_SLUG).exists()
        except DatabaseError:
            self.stderr.write("The database is not set up yet: run `accord migrate` first.")
            return None
        finally:
            # The supervisor itself needs no database connection while it waits.
            connection.close()
        if not exists:
            return None
        password = demo_password()
        if password is None:
            return f"{DEMO_ADMIN_EMAIL} (with the password the demo was built with)"
        return f"{DEMO_ADMIN_EMAIL} / {password}"

    def _wait_until_ready(self, children: list[Child], url: str,
                          stop_requested: list[int]) -> Child | None:
        """Wait for /healthz to answer; the first child that dies meanwhile, or None."""
        deadline = time.monotonic() + READY_TIMEOUT
        while not stop_requested:
            dead = next((child for child in children if not child.running), None)
            if dead is not None:
                return dead
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        return None
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise CommandError(
                    f"The web server did not answer {url}/healthz within "
                    f"{READY_TIMEOUT:.0f} s.", returncode=1,
                )
            time.sleep(POLL)
        return None

    def _print_banner(self, url: str, sign_in: str | None) -> None:
        lines = ["", f"Accord is running at {url}"]
        if sign_in:
            lines.append(f"Demo sign-in: {sign_in}")
        lines += ["Web server, Celery worker, Celery beat and the mail listener are up. "
                  "Press Ctrl-C to stop.", ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def _supervise(self, children: list[Child], stop_requested: list[int]) -> Child | None:
        while not stop_requested:
            dead = next((child for child in children if not child.running), None)
            if dead is not None:
                return dead
            time.sleep(POLL)
        return None

    def _stop(self, children: list[Child]) -> None:
        """SIGTERM every child, then SIGKILL its process group after it exits or times out.

        Only the child itself gets SIGTERM: gunicorn and Celery stop their own
        workers in order, which signalling the whole group at once would upset.
        """
        started = [child for child in children if child.process is not None]
        for child in started:
            if child.running:
                child.process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in started:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"The {child.name} did not stop in time; killing it.")
        # Whatever a child forked and left behind goes with its group.
        for child in started:
            _signal_group(child.process.pid, signal.SIGKILL)
            child.process.wait()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
