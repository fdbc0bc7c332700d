"""Through what a change arrives (web, api, import, job, cli), for the audit trail."""

from contextlib import contextmanager
from contextvars import ContextVar

_channel: ContextVar[tuple[str, str]] = ContextVar("audit_channel", default=("system", ""))


@contextmanager
def channel(via: str, ip: str = ""):
    token = _channel.set((via, ip))
    try:
        yield
    finally:
        _channel.reset(token)


def current_channel() -> tuple[str, str]:
    return _channel.get()
