"""Bulk commands run at background CPU priority; everything else as started."""

import os
import subprocess
import sys

import pytest

from accord import __main__ as entry
from accord.core.priority import BACKGROUND_NICENESS


@pytest.mark.parametrize(("argv", "lowered"), [
    (["accord", "import", "people.csv", "--org", "acme", "--entity", "contact"], True),
    (["accord", "export", "--org", "acme", "--entity", "contact"], True),
    (["accord", "migrate"], False),
    (["accord", "serve"], False),
    (["accord"], False),
])
def test_the_accord_command_lowers_priority_only_for_imports_and_exports(monkeypatch, argv,
                                                                        lowered):
    calls, ran = [], []
    monkeypatch.setattr("accord.core.priority.lower_priority", lambda: calls.append(True))
    monkeypatch.setattr("django.core.management.execute_from_command_line", ran.append)
    monkeypatch.setattr(sys, "argv", argv)

    entry.main()

    assert calls == ([True] if lowered else [])
    assert ran == [argv]


def _in_child(code: str) -> str:
    return subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
    ).stdout.split()


def test_lower_priority_makes_a_process_at_least_background_nice_and_never_raises_it():
    # In child processes, so that this one keeps its priority.
    base = os.nice(0)
    code = ("from accord.core.priority import lower_priority as low; "
            "print(low(), low(), low(3), low(15))")

    first, again, lower, higher = map(int, _in_child(code))

    expected = max(BACKGROUND_NICENESS, base)
    assert (first, again, lower) == (expected, expected, expected)
    assert higher == max(15, base)


def test_an_import_process_is_nice_by_the_time_its_command_runs():
    """The `accord` entry point lowers the process's priority before the command runs."""
    code = ("import sys; from accord import __main__ as m; "
            "import django.core.management as dm; "
            "dm.execute_from_command_line = lambda argv: print(__import__('os').nice(0)); "
            "sys.argv = ['accord', 'import', '--help']; m.main()")

    (seen,) = map(int, _in_child(code))

    assert seen == max(BACKGROUND_NICENESS, os.nice(0))
