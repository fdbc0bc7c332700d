"""The browser sessions a user is signed in with: listed, and ended one by one or together.

Django's session store holds the sessions; a UserSession row beside each one
keeps what the user needs to recognise it (device, address, last seen). The
row is refreshed at most once a minute, so a busy page costs no extra write.
"""

import datetime as dt
import logging
import time
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .models import UserSession

logger = logging.getLogger(__name__)
User = get_user_model()

SEEN_KEY = "seen"
TOUCH_EVERY = 60  # seconds: "last seen" is shown to the minute
LISTED = 50  # far more than anyone signs in with; older rows are left out


def _store(session_key: str | None = None):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def touch_session(request) -> None:
    """Record that this signed-in browser session was seen now, at most once a minute."""
    if request.api_token is not None or not request.user.is_authenticated:
        return
    key = request.session.session_key
    if key is None:
        return
    seen_key, seen_at = request.session.get(SEEN_KEY, (None, 0))
    if seen_key == key and time.time() - seen_at < TOUCH_EVERY:
        return
    remember_session(request, request.user)


def remember_session(request, user) -> None:
    """Keep the row of the request's session, written as the user signs in.

    Written at sign-in, the row costs the first page after it nothing; after
    that an UPDATE a minute at most, and an INSERT only for a session begun
    before rows were kept.
    """
    key = request.session.session_key
    if key is None:
        return
    now = timezone.now()
    seen = {"user_agent": request.headers.get("User-Agent", "")[:300],
            "ip": request.META.get("REMOTE_ADDR", ""), "last_seen_at": now}
    if not UserSession.objects.filter(session_key=key, user=user).update(**seen):
        UserSession.objects.filter(session_key=key).delete()
        UserSession.objects.create(session_key=key, user=user, **seen)
    request.session[SEEN_KEY] = (key, time.time())


def active_sessions(user) -> list[UserSession]:
    """The user's sessions that can still be used, newest first; dead rows are dropped."""
    # A session unused for longer than the cookie lives has expired, even
    # while the store still holds it until its next clean-up.
    cutoff = timezone.now() - dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    UserSession.objects.filter(user=user, last_seen_at__lt=cutoff).delete()
    rows = list(UserSession.objects.filter(user=user)[:LISTED])
    alive = [row for row in rows if _store().exists(row.session_key)]
    gone = [row.pk for row in rows if row not in alive]
    if gone:
        UserSession.objects.filter(pk__in=gone).delete()
    return alive


@transaction.atomic
def end_session(request, session_id: int) -> bool:
    """Sign out another of the user's sessions; False when it is not theirs or gone already.

    The request's own session is not ended this way: signing out does that.
    """
    user = request.user
    row = UserSession.objects.filter(user=user, pk=session_id).exclude(
        session_key=request.session.session_key or ""
    ).first()
    if row is None:
        return False

    _store(row.session_key).delete()
    row.delete()

    logger.info("session.ended", extra={"user_id": user.pk, "session_id": session_id})
    return True


@transaction.atomic
def end_other_sessions(request) -> int:
    """Sign out every session of the user but this request's; returns how many were listed.

    The user's session generation moves on as well, so a session started
    before its row was kept is ended too; this session takes the new value.
    """
    # Imported here because the middleware imports this module.
    from .middleware import SESSION_GENERATION_KEY

    user = request.user
    User.objects.filter(pk=user.pk).update(session_generation=user.session_generation + 1)
    user.session_generation += 1
    request.session[SESSION_GENERATION_KEY] = user.session_generation

    others = UserSession.objects.filter(user=user).exclude(
        session_key=request.session.session_key or ""
    )
    keys = list(others.values_list("session_key", flat=True))
    for key in keys:
        _store(key).delete()
    others.delete()

    logger.info("session.others_ended", extra={"user_id": user.pk, "count": len(keys)})
    return len(keys)


def forget_session(request) -> None:
    """Drop the row of a session that is being signed out."""
    key = getattr(request, "session", None) and request.session.session_key
    if key:
        UserSession.objects.filter(session_key=key).delete()
