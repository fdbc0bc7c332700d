"""`Idempotency-Key` on API POSTs: a retried request gets the first answer, not a second write.

A client that is not sure its POST arrived (a timeout, a dropped connection)
sends it again with the same key. The first request's answer is kept for a
day per organisation, user and key; a repeat with the same method, path and
body is answered from it, with `Idempotent-Replayed: true`. A repeat with a
different request is refused (422), and one that arrives while the first is
still being handled waits for nothing and answers 409. Server errors are not
kept, so a request that failed on our side can be tried again.
"""

import datetime as dt
import hashlib
import logging

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from accord.identity import scopes

from .models import IdempotentRequest

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEEP_FOR = dt.timedelta(hours=24)
MAX_KEY = 255
MAX_BODY = 1024 * 1024  # answers larger than this are not kept; none of the API's POSTs are


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.get_full_path().encode() + b"\n")
    digest.update(request.body)
    return digest.hexdigest()


def _problem(request, status: int, code: str, title: str, detail: str):
    from accord.api import problem

    return problem(request, status=status, code=code, title=title, detail=detail)


def _within_token_scopes(request) -> bool:
    token = getattr(request, "api_token", None)
    return token is None or scopes.allows(token.scopes, scopes.request_scope(request))


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get(HEADER)
        if (key is None or request.method != "POST" or not request.path.startswith("/api/")
                or request.organization is None or not request.user.is_authenticated
                or not _within_token_scopes(request)):
            # A token outside its scopes is refused by the API as usual, never
            # answered from another token's earlier request.
            return self.get_response(request)
        if not key.strip() or len(key) > MAX_KEY or not key.isprintable():
            return _problem(request, 400, "bad-idempotency-key", "Bad Idempotency-Key",
                            f"Send an {HEADER} of 1 to {MAX_KEY} printable characters.")

        fingerprint = _fingerprint(request)
        found = self._claim(request, key, fingerprint)
        if isinstance(found, HttpResponse):
            return found
        response = self.get_response(request)
        self._keep(found, response)
        return response

    def _claim(self, request, key: str, fingerprint: str):
        """The new ledger row for this key, or the answer to give instead of running."""
        since = timezone.now() - KEEP_FOR
        existing = IdempotentRequest.objects.filter(user=request.user, key=key).first()
        if existing is not None and existing.created_at < since:
            existing.delete()
            existing = None
        if existing is None:
            try:
                with transaction.atomic():
                    return IdempotentRequest.objects.create(
                        organization=request.organization, user=request.user, key=key,
                        method=request.method, path=request.path[:2000],
                        fingerprint=fingerprint)
            except IntegrityError:
                existing = IdempotentRequest.objects.filter(user=request.user, key=key).first()
                if existing is None:
                    return _problem(request, 409, "idempotency-in-progress",
                                    "Request in progress",
                                    "A request with this Idempotency-Key is being handled; "
                                    "try again in a moment.")
        if existing.fingerprint != fingerprint:
            return _problem(request, 422, "idempotency-key-reused", "Idempotency-Key reused",
                            "This Idempotency-Key was used for a different request; use a "
                            "new key for a new request.")
        if existing.status_code is None:
            return _problem(request, 409, "idempotency-in-progress", "Request in progress",
                            "A request with this Idempotency-Key is being handled; try "
                            "again in a moment.")
        replay = HttpResponse(existing.body, status=existing.status_code,
                              content_type=existing.content_type or None)
        if existing.location:
            replay["Location"] = existing.location
        replay["Idempotent-Replayed"] = "true"
        logger.info("api.idempotent_replay", extra={
            "organization_id": request.organization.id, "status": existing.status_code})
        return replay

    def _keep(self, ledger: IdempotentRequest, response) -> None:
        content = None if response.streaming else response.content
        if response.status_code >= 500 or content is None or len(content) > MAX_BODY:
            IdempotentRequest.objects.filter(pk=ledger.pk).delete()
            return
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            IdempotentRequest.objects.filter(pk=ledger.pk).delete()
            return
        IdempotentRequest.objects.filter(pk=ledger.pk).update(
            status_code=response.status_code, body=text,
            content_type=response.get("Content-Type", ""),
            location=response.get("Location", "")[:2000])


def forget_old_requests(now: dt.datetime | None = None) -> int:
    """Delete kept answers older than a day; returns how many went."""
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _ = IdempotentRequest.unscoped.filter(created_at__lt=cutoff).delete()
    return deleted
