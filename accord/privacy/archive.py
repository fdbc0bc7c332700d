"""The export archive of a data-subject request: one JSON file per area, the files, a README.

Every row is written whole, field by field, so that a field added to a
model later is exported without a change here.
"""

import datetime as dt
import decimal
import json
import uuid
import zipfile

from django.db import models
from django.utils import timezone

from .subject import Subject, areas, custom_field_labels, files

README = """\
Data held about one person
==========================

Reference: {reference}
Written:   {written} (UTC)

This archive holds everything the organisation's CRM stores about you, one
JSON file per area. Each file is an object whose keys name a kind of record
and whose values are lists of those records with every stored field. Ids
link records across files (for example `ticket_id` in tickets.json).

contact.json           Your contact record(s), including custom fields, every
                       e-mail address and phone number, the companies you are
                       linked to, your tags and how your lifecycle stage moved.
consents.json          Every consent you gave or withdrew, oldest first.
activities.json        Your timeline: notes, calls, meetings, e-mails, tasks.
deals.json             Deals you take part in, your role and their line items.
leads.json             Leads that became you or carry your e-mail address.
tickets.json           Your support tickets with every message, the names of
                       attached files and satisfaction surveys.
orders.json            Your orders with their lines, and your subscriptions.
campaigns.json         Campaign e-mails sent to you, their opens and clicks,
                       the segments you are in and service announcements.
form_submissions.json  What you sent through web forms.
behaviour_events.json  What other systems reported you did (visits, logins).
scores.json            Scores computed from your purchases (RFM, churn risk,
                       loyalty).
portal.json            Your sign-in requests to the customer portal.
audit.json             The audit trail of changes to your records.
files/                 The files attached to your tickets, and the original
                       e-mails where they were kept.

Counts per area:
{counts}
"""


def json_value(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def document(record: models.Model) -> dict:
    """Every stored field of `record` but its organisation, JSON-safe; files by name."""
    values = {}
    for field in record._meta.concrete_fields:
        if field.name == "organization":
            continue
        value = getattr(record, field.attname)
        if isinstance(field, models.FileField):
            value = value.name or None
        values[field.attname] = json_value(value)
    return values


def _section(name: str, queryset, labels: dict) -> list[dict]:
    rows = []
    for record in queryset:
        row = document(record)
        if name == "contacts":
            # Custom values under the labels people gave the fields, beside their keys.
            row["custom_field_labels"] = {key: labels.get(key, key)
                                          for key in record.custom_fields}
        elif name == "companies":
            row["company_name"] = record.company.name
        elif name == "tags":
            row["tag_name"] = record.tag.name
        elif name == "messages_received":
            row["campaign_name"] = record.campaign.name
            row["campaign_subject"] = record.campaign.subject
        elif name == "link_clicks":
            row["url"] = record.link.url
        elif name == "segment_memberships":
            row["segment_name"] = record.segment.name
        elif name == "form_submissions":
            row["form_name"] = record.form.name
        rows.append(row)
    return rows


def write_archive(subject: Subject, stream, *, reference: str) -> dict[str, int]:
    """Write the subject's archive as a zip to the binary `stream`; return rows per area."""
    labels = custom_field_labels()
    counts: dict[str, int] = {}
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for area, sections in areas(subject):
            content = {name: _section(name, queryset, labels) for name, queryset in sections}
            counts[area] = sum(len(rows) for rows in content.values())
            archive.writestr(f"{area}.json",
                             json.dumps(content, ensure_ascii=False, indent=2, sort_keys=True))
        stored = 0
        for name, stored_file in files(subject):
            try:
                with stored_file.open("rb") as source, archive.open(name, "w") as target:
                    while chunk := source.read(1024 * 1024):
                        target.write(chunk)
            except OSError:
                # A file missing from storage is named in tickets.json all the same.
                continue
            stored += 1
        counts["files"] = stored
        listing = "\n".join(f"  {area}: {count}" for area, count in counts.items())
        archive.writestr("README.txt", README.format(
            reference=reference, written=timezone.now().strftime("%Y-%m-%d %H:%M"),
            counts=listing))
    return counts
