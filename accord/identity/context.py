"""Which member the current request or job acts for, for rules deep in the services.

Most services get the actor as an argument. A few rules are about what the
acting member may see rather than who changes what (a custom field hidden
from their role is neither offered nor required of them), and they apply in
validation that many callers share; they read the member from here. Outside
a request or a job that sets one (the command line, say) there is none, and
those rules let everything through.
"""

from contextlib import contextmanager
from contextvars import ContextVar

_member: ContextVar = ContextVar("acting_member", default=None)


@contextmanager
def acting_as(membership):
    token = _member.set(membership)
    try:
        yield
    finally:
        _member.reset(token)


def acting_member():
    """The Membership the current request or job acts for, or None."""
    return _member.get()
