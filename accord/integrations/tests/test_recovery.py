"""A job whose worker died mid-file is found by the beat task and finished by a worker."""

import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from accord.celery import app
from accord.customers.models import Contact
from accord.integrations import engine, services
from accord.integrations.models import ImportJob
from accord.integrations.tasks import resume_stalled_imports


@pytest.mark.django_db(transaction=True)
def test_a_stalled_import_is_resumed_by_the_beat_and_ends_with_exact_counts(
    org, admin, in_org, tmp_path, monkeypatch
):
    monkeypatch.setattr(engine, "CHUNK", 50)
    path = tmp_path / "people.csv"
    path.write_text("email,first_name\n" + "".join(
        f"p{n}@example.com,P{n}\n" for n in range(230)))

    def die(job):
        raise engine.Interrupted

    with in_org(org):
        job = services.create_job(org, admin.user, entity="contact", path=path)
        job.status = "queued"
        job.save()
        with pytest.raises(engine.Interrupted):
            engine.run_job(org, admin.user, job, after_chunk=die)
        ImportJob.objects.filter(pk=job.pk).update(
            heartbeat_at=timezone.now() - dt.timedelta(minutes=6))
    fresh = resume_stalled_imports()

    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        queued = resume_stalled_imports()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with in_org(org):
                job = ImportJob.objects.get(pk=job.pk)
            if job.status == "done":
                break
            time.sleep(0.2)

    assert (fresh, queued) == (1, 0)
    with in_org(org):
        assert (job.status, job.created_count, job.rows_done) == ("done", 230, 230)
        assert Contact.objects.count() == 230
        assert job.ledger.count() == 230
