"""Campaign jobs: send one campaign, start those that are due, resume those whose worker died."""

from celery import shared_task
from django_scopes import scope

from accord.audit.context import channel
from accord.identity.models import Organization


@shared_task(name="accord.marketing.tasks.send_campaign", acks_late=True)
def send_campaign(org_id: int, campaign_id: int) -> int:
    """Send the campaign's waiting e-mails; how many went now. Safe to run twice."""
    from .models import Campaign
    from .sending import send_campaign as send

    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return 0
    with scope(organization=org), channel("job"):
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None:
            return 0
        return send(org, campaign)


@shared_task(name="accord.marketing.tasks.start_due_campaigns")
def start_due_campaigns() -> int:
    from .campaigns import start_due_campaigns as start

    with channel("job"):
        return start()


@shared_task(name="accord.marketing.tasks.resume_stalled_campaigns")
def resume_stalled_campaigns() -> int:
    from .sending import resume_stalled

    return resume_stalled()


@shared_task(name="accord.marketing.tasks.run_due_sequences")
def run_due_sequences() -> int:
    """Run the steps of sequence enrolments that are due; safe to run twice at once."""
    from .sequence_runner import run_due

    return run_due()


@shared_task(name="accord.marketing.tasks.enrol_new_segment_members")
def enrol_new_segment_members() -> int:
    from .sequence_runner import enrol_new_members

    return enrol_new_members()
