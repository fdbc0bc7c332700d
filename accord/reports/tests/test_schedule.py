"""Scheduled reports reach their recipients once per period, over real SMTP."""

import datetime as dt

from django_scopes import scope

from accord.identity.models import Role
from accord.reports.mail import period_key
from accord.reports.models import ReportDelivery, SavedReport
from accord.reports.tasks import send_scheduled_reports


def test_a_weekly_report_is_mailed_once_with_its_table_and_chart(
        org, admin, seller, pipeline_deals, smtp_inbox, make_member):
    marketer = make_member(org, Role.MARKETING, email="marketer@example.com")
    with scope(organization=org):
        report = SavedReport.objects.create(
            organization=org, owner=admin.user, name="Pipeline", is_shared=True,
            frequency="weekly", recipients=[seller.user_id],
            definition={"entity": "deals", "group_by": ["stage"], "measure": "count",
                        "filters": {"owner": ["@me"]}, "chart": "bar"})
        SavedReport.objects.create(
            organization=org, owner=marketer.user, name="Unsent", definition={
                "entity": "contacts", "group_by": [], "measure": "count", "filters": {},
                "chart": "table"})

    first = send_scheduled_reports(now="2026-12-07T06:00:00+00:00")
    again = send_scheduled_reports(now="2026-12-09T06:00:00+00:00")

    assert (first, again) == (1, 0)
    recipients, message = smtp_inbox.messages[0]
    assert recipients == ["seller@example.com"]
    assert message["Subject"] == "Report: Pipeline"
    # The seller's own deals only: two in Qualification.
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == (
        "Pipeline\n\nQualification: 2\n\n"
        f"Open the report: http://127.0.0.1:8000/reports/{report.pk}/\n\n")
    html = message.get_body(("html",)).get_content()
    assert "<td>Qualification</td>" in html
    attachments = {part.get_filename(): part.get_content_type()
                   for part in message.iter_attachments()}
    assert attachments == {"chart.svg": "image/svg+xml"}
    with scope(organization=org):
        delivery = ReportDelivery.objects.get()
    assert (delivery.report_id, delivery.period, delivery.sent_at is not None) == (
        report.pk, "2026-W50", True)


def test_the_next_period_sends_again():
    assert period_key("weekly", dt.date(2026, 12, 13)) == "2026-W50"
    assert period_key("weekly", dt.date(2026, 12, 14)) == "2026-W51"
    assert period_key("monthly", dt.date(2026, 12, 31)) == "2026-12"
    assert period_key("daily", dt.date(2026, 12, 31)) == "2026-12-31"
