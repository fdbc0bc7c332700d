"""Every mutating API operation writes its audit entries in the same transaction.

The write operations are read from the OpenAPI description. Each is either in
RECIPES (how to call it, and how many audit entries the call must write: one,
or one per record for a bulk call), in EXEMPT (with the reason it changes no
record), or in NOT_YET_COVERED; a new operation in none of them fails the
coverage test, naming it. Each recipe is called as the admin: the answer must
be 2xx and the organisation must hold exactly the expected number of new audit
entries, naming the organisation and the admin. Then the same call is made with
the audit writer failing: every row of the organisation must be as it was
before the call, since a change that outlives its failed audit entry was not
written in the same transaction.
"""

import json
from dataclasses import dataclass
from functools import cached_property

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_scopes import scope, scopes_disabled

from accord.api import api
from accord.audit import services as audit
from accord.audit.models import AuditEntry
from accord.core.backup import _rows, tenant_models
from accord.customers import duplicates
from accord.customers import services as customers
from accord.customers.models import Contact, DuplicatePair

WRITE_METHODS = {"post", "put", "patch", "delete"}
LINES = [{"description": "Widget", "quantity": "2", "unit_price": "10"}]


class Context:
    """The records recipes call operations on, each made once on first use through the API."""

    def __init__(self, client: Client, admin):
        self.client = client
        self.org, self.user, self.admin_id = admin.organization, admin.user, admin.user_id

    def make(self, path: str, body: dict | None = None) -> dict:
        response = self.client.post(path, json.dumps(body or {}),
                                    content_type="application/json")
        assert response.status_code < 300, (path, response.status_code, response.content)
        return response.json()

    def fetch(self, path: str) -> dict:
        response = self.client.get(path)
        assert response.status_code == 200, (path, response.content)
        return response.json()

    def contact(self, name: str = "Ada") -> dict:
        return self.make("/api/v1/contacts", {"first_name": name,
                                              "email": f"{name.lower()}@example.com"})

    def company(self, name: str = "Northwind") -> dict:
        return self.make("/api/v1/companies", {"name": name})

    @cached_property
    def shared_contact(self) -> dict:
        return self.contact("Shared")

    @cached_property
    def pipeline(self) -> dict:
        return self.make("/api/v1/pipelines", {"name": "Renewals", "stages": [
            {"name": "Due"}, {"name": "Renewed", "kind": "won"},
            {"name": "Churned", "kind": "lost"}]})

    def stage(self) -> dict:
        return self.make(f"/api/v1/pipelines/{self.pipeline['id']}/stages", {"name": "Spare"})

    def deal(self) -> dict:
        return self.make("/api/v1/deals", {"name": "Big deal", "amount": "100",
                                           "pipeline_id": self.pipeline["id"]})

    def lead(self) -> dict:
        return self.make("/api/v1/leads", {"first_name": "Lee", "email": "lee@example.com",
                                           "company_name": "Leeward"})

    def activity(self) -> dict:
        return self.make("/api/v1/activities", {"kind": "note", "body": "Met",
                                                "contact_id": self.shared_contact["id"]})

    def ticket(self) -> dict:
        return self.make("/api/v1/tickets", {"subject": "Broken",
                                             "contact_id": self.shared_contact["id"]})

    def product(self, sku: str = "LAP-1") -> dict:
        return self.make("/api/v1/products", {"sku": sku, "name": "Laptop", "unit_price": "10"})

    def order(self, number: str = "O-1") -> dict:
        return self.make("/api/v1/orders", {"number": number, "lines": LINES,
                                            "contact": self.shared_contact["id"]})

    def segment(self, kind: str = "dynamic") -> dict:
        return self.make("/api/v1/segments", {"name": "Everyone", "kind": kind,
                                              "conditions": {"all": []}})

    @cached_property
    def template(self) -> dict:
        return self.make("/api/v1/templates", {"name": "News", "subject": "Hello",
                                               "html": "<p>Hi</p>"})

    def campaign(self) -> dict:
        return self.make("/api/v1/campaigns", {
            "name": "Spring", "template_id": self.template["id"],
            "segment_id": self.segment()["id"], "from_email": "news@example.com"})

    def webhook(self) -> dict:
        return self.make("/api/v1/webhooks", {"url": "http://127.0.0.1:9/in",
                                              "events": ["contact.created"]})

    def rule(self) -> dict:
        return self.make("/api/v1/rules", {
            "name": "Welcome", "trigger": "created", "settings": {"entity": "contact"},
            "actions": [{"type": "create_task", "subject": "Call", "days": 1}]})


    def relationship(self) -> tuple[dict, dict]:
        ada = self.contact()
        return ada, self.make(f"/api/v1/contacts/{ada['id']}/relationships", {
            "related_id": self.contact("Ben")["id"], "role": "spouse"})

    @cached_property
    def record_type(self) -> dict:
        return self.make("/api/v1/record-types", {
            "key": "property", "singular": "Property", "plural": "Properties",
            "title_field": "address",
            "fields": [{"key": "address", "label": "Address", "type": "text"}]})

    def record(self) -> dict:
        return self.make(f"/api/v1/records/{self.record_type['key']}",
                         {"values": {"address": "1 Main St"}})

    def queue(self) -> dict:
        return self.make("/api/v1/queues", {"name": "Billing"})

    def policy(self) -> dict:
        return self.make("/api/v1/sla-policies", {"name": "Gold", "resolution_minutes": 60})

    def calendar(self) -> dict:
        return self.make("/api/v1/business-calendars", {
            "name": "Office", "time_zone": "Europe/Berlin", "hours": {"0": [["09:00", "17:00"]]}})

    def article(self) -> dict:
        return self.make("/api/v1/articles", {"title": "How to reset", "body": "Press it."})

    def form(self) -> dict:
        return self.make("/api/v1/forms", {"name": "Webinar", "creates": "lead", "fields": [
            {"name": "last_name", "label": "Surname", "required": True}]})

    def report(self) -> dict:
        return self.make("/api/v1/reports", {"name": "People", "definition": {
            "entity": "contacts"}})

    def retention_rule(self) -> dict:
        return self.make("/api/v1/retention-rules", {"entity": "activity", "age_days": 365,
                                                     "action": "delete"})

    def sequence(self) -> dict:
        return self.make("/api/v1/sequences", {
            "name": "Welcome", "from_email": "news@example.com",
            "steps": [{"type": "wait", "amount": 1, "unit": "days"}]})

    def subscription(self) -> dict:
        return self.make("/api/v1/subscriptions", {
            "contact": self.shared_contact["id"], "plan_name": "Monthly", "mrr": "49.9",
            "currency": "GBP", "started_at": "2025-01-15"})

    def assignment_rule(self) -> dict:
        return self.make("/api/v1/lead-assignment-rules", {"name": "Everyone",
                                                           "owner_id": self.admin_id})

    def scoring_rule(self) -> dict:
        return self.make("/api/v1/lead-scoring-rules", {
            "name": "Opened a mail", "event_type": "email.opened", "points": 5})

    def custom_field(self) -> int:
        with scope(organization=self.org):
            return customers.create_custom_field(self.org, self.user, data={
                "entity": "contact", "key": "tier", "label": "Tier", "field_type": "text"}).pk

    def texting_contact(self) -> dict:
        return self.make("/api/v1/contacts", {"first_name": "Tex", "phone": "+442079460000"})

    def feed(self) -> dict:
        return self.make("/api/v1/product-feeds", {"name": "PIM",
                                                   "url": "http://127.0.0.1:9/feed.csv"})

    def enrolment(self) -> str:
        """The address of a new enrolment of the shared contact in a new sequence."""
        path = f"/api/v1/sequences/{self.sequence()['id']}/enrolments"
        self.make(path, {"contact_ids": [self.shared_contact["id"]]})
        return f"{path}/{self.fetch(path)['items'][0]['id']}"

    def import_job(self) -> dict:
        return self.make_upload()

    def make_upload(self) -> dict:
        response = self.client.post("/api/v1/imports", upload())
        assert response.status_code < 300, response.content
        return response.json()

    def finished_import(self) -> int:
        """An import the worker would have run, run here in this process."""
        from accord.integrations import engine
        from accord.integrations.models import ImportJob

        job_id = self.make_upload()["id"]
        with scope(organization=self.org):
            engine.run_job(self.org, self.user, ImportJob.objects.get(pk=job_id))
        return job_id

    def delivery(self) -> tuple[int, int]:
        """A webhook and a delivery of a contact's creation to it, as the outbox queues one
        after the change commits."""
        from accord.core.models import DomainEvent
        from accord.integrations.webhooks import queue_deliveries

        webhook = self.webhook()
        self.contact("Hooked")
        with scope(organization=self.org):
            event = DomainEvent.objects.filter(type="contact.created").latest("id")
            [delivery] = queue_deliveries(event)
        return webhook["id"], delivery

    def duplicate_pair(self) -> int:
        self.contact("Ada")
        self.make("/api/v1/contacts", {"first_name": "Ada", "last_name": "Twin",
                                       "email": "ada@example.com"})
        with scope(organization=self.org):
            duplicates.scan(self.org, Contact)
            return DuplicatePair.objects.values_list("pk", flat=True).first()

    def suppression(self) -> dict:
        return self.make("/api/v1/suppressions", {"address": "gone@example.com"})


@dataclass(frozen=True)
class Call:
    path: str
    body: dict | None = None
    entries: int = 1
    multipart: bool = False


def upload() -> dict:
    """The multipart body of a contact import of two rows."""
    rows = b"First name,E-mail\nIvy,ivy@example.com\nJon,jon@example.com\n"
    return {"file": SimpleUploadedFile("people.csv", rows, content_type="text/csv"),
            "entity": "contact",
            "mapping": json.dumps({"First name": "first_name", "E-mail": "email"})}


def versioned(record: dict, **changes) -> dict:
    return {"version": record["version"], **changes}


RECIPES = {
    # Contacts and companies. A merge records one entry for the record kept and one for
    # each record merged into it.
    ("post", "/api/v1/contacts"): lambda ctx: Call("/api/v1/contacts", {"first_name": "Bo"}),
    ("post", "/api/v1/contacts/bulk"): lambda ctx: Call("/api/v1/contacts/bulk", {"items": [
        {"first_name": "Bo"}, {"first_name": "Cy"}]}, entries=2),
    ("patch", "/api/v1/contacts/{contact_id}"): lambda ctx: (
        lambda c: Call(f"/api/v1/contacts/{c['id']}", versioned(c, title="CEO")))(ctx.contact()),
    ("delete", "/api/v1/contacts/{contact_id}"): lambda ctx: Call(
        f"/api/v1/contacts/{ctx.contact()['id']}"),
    ("post", "/api/v1/contacts/{contact_id}/restore"): lambda ctx: (
        lambda c: (ctx.client.delete(f"/api/v1/contacts/{c['id']}"),
                   Call(f"/api/v1/contacts/{c['id']}/restore"))[1])(ctx.contact()),
    ("post", "/api/v1/contacts/{contact_id}/consents"): lambda ctx: Call(
        f"/api/v1/contacts/{ctx.shared_contact['id']}/consents",
        {"channel": "email", "purpose": "marketing", "status": "granted"}),
    ("post", "/api/v1/companies"): lambda ctx: Call("/api/v1/companies", {"name": "Acme"}),
    ("post", "/api/v1/companies/bulk"): lambda ctx: Call("/api/v1/companies/bulk", {"items": [
        {"name": "Acme"}, {"name": "Initech"}]}, entries=2),
    ("patch", "/api/v1/companies/{company_id}"): lambda ctx: (
        lambda c: Call(f"/api/v1/companies/{c['id']}", versioned(c, industry="Tea")))(
        ctx.company()),
    ("delete", "/api/v1/companies/{company_id}"): lambda ctx: Call(
        f"/api/v1/companies/{ctx.company()['id']}"),
    ("post", "/api/v1/companies/{company_id}/restore"): lambda ctx: (
        lambda c: (ctx.client.delete(f"/api/v1/companies/{c['id']}"),
                   Call(f"/api/v1/companies/{c['id']}/restore"))[1])(ctx.company()),
    ("post", "/api/v1/contacts/{contact_id}/merge"): lambda ctx: Call(
        f"/api/v1/contacts/{ctx.contact('Ada')['id']}/merge",
        {"merge_ids": [ctx.contact('Adda')['id']]}, entries=2),
    ("post", "/api/v1/companies/{company_id}/merge"): lambda ctx: Call(
        f"/api/v1/companies/{ctx.company('Acme')['id']}/merge",
        {"merge_ids": [ctx.company('Acme Ltd')['id']]}, entries=2),
    # Activities.
    ("post", "/api/v1/activities"): lambda ctx: Call("/api/v1/activities", {
        "kind": "note", "body": "Met", "contact_id": ctx.shared_contact["id"]}),
    ("post", "/api/v1/activities/bulk"): lambda ctx: Call("/api/v1/activities/bulk", {"items": [
        {"kind": "note", "body": "One", "contact_id": ctx.shared_contact["id"]},
        {"kind": "note", "body": "Two", "contact_id": ctx.shared_contact["id"]}]}, entries=2),
    ("patch", "/api/v1/activities/{activity_id}"): lambda ctx: (
        lambda a: Call(f"/api/v1/activities/{a['id']}", versioned(a, body="Met again")))(
        ctx.activity()),
    ("delete", "/api/v1/activities/{activity_id}"): lambda ctx: Call(
        f"/api/v1/activities/{ctx.activity()['id']}"),
    # Pipelines, stages and deals.
    ("post", "/api/v1/pipelines"): lambda ctx: Call("/api/v1/pipelines", {"name": "New"}),
    ("patch", "/api/v1/pipelines/{pipeline_id}"): lambda ctx: Call(
        f"/api/v1/pipelines/{ctx.pipeline['id']}", versioned(ctx.pipeline, name="Renamed")),
    ("post", "/api/v1/pipelines/{pipeline_id}/stages"): lambda ctx: Call(
        f"/api/v1/pipelines/{ctx.pipeline['id']}/stages", {"name": "Review"}),
    ("put", "/api/v1/pipelines/{pipeline_id}/stages/order"): lambda ctx: Call(
        f"/api/v1/pipelines/{ctx.pipeline['id']}/stages/order",
        {"stage_ids": [stage["id"] for stage in reversed(ctx.pipeline["stages"])]}),
    ("patch", "/api/v1/pipelines/{pipeline_id}/stages/{stage_id}"): lambda ctx: Call(
        f"/api/v1/pipelines/{ctx.pipeline['id']}/stages/{ctx.pipeline['stages'][0]['id']}",
        versioned(ctx.pipeline["stages"][0], name="Overdue")),
    ("delete", "/api/v1/pipelines/{pipeline_id}/stages/{stage_id}"): lambda ctx: Call(
        f"/api/v1/pipelines/{ctx.pipeline['id']}/stages/{ctx.stage()['id']}"),
    ("post", "/api/v1/deals"): lambda ctx: Call("/api/v1/deals", {
        "name": "Deal", "pipeline_id": ctx.pipeline["id"]}),
    ("post", "/api/v1/deals/bulk"): lambda ctx: Call("/api/v1/deals/bulk", {"items": [
        {"name": "One", "pipeline_id": ctx.pipeline["id"]},
        {"name": "Two", "pipeline_id": ctx.pipeline["id"]}]}, entries=2),
    ("patch", "/api/v1/deals/{deal_id}"): lambda ctx: (
        lambda d: Call(f"/api/v1/deals/{d['id']}", versioned(d, next_step="Call")))(ctx.deal()),
    ("delete", "/api/v1/deals/{deal_id}"): lambda ctx: Call(f"/api/v1/deals/{ctx.deal()['id']}"),
    ("post", "/api/v1/deals/{deal_id}/contacts"): lambda ctx: Call(
        f"/api/v1/deals/{ctx.deal()['id']}/contacts",
        {"contact_id": ctx.shared_contact["id"]}),
    # Leads.
    ("post", "/api/v1/leads"): lambda ctx: Call("/api/v1/leads", {"first_name": "Lou",
                                                                  "email": "lou@example.com"}),
    ("post", "/api/v1/leads/bulk"): lambda ctx: Call("/api/v1/leads/bulk", {"items": [
        {"first_name": "Lou", "email": "lou@example.com"},
        {"first_name": "Liv", "email": "liv@example.com"}]}, entries=2),
    ("patch", "/api/v1/leads/{lead_id}"): lambda ctx: (
        lambda lead: Call(f"/api/v1/leads/{lead['id']}", versioned(lead, title="CTO")))(
        ctx.lead()),
    ("delete", "/api/v1/leads/{lead_id}"): lambda ctx: Call(f"/api/v1/leads/{ctx.lead()['id']}"),
    ("post", "/api/v1/leads/{lead_id}/qualify"): lambda ctx: (
        lambda lead: Call(f"/api/v1/leads/{lead['id']}/qualify", versioned(lead)))(ctx.lead()),
    ("post", "/api/v1/leads/{lead_id}/disqualify"): lambda ctx: (
        lambda lead: Call(f"/api/v1/leads/{lead['id']}/disqualify",
                          versioned(lead, reason="No budget")))(ctx.lead()),
    # Tickets.
    ("post", "/api/v1/tickets"): lambda ctx: Call("/api/v1/tickets", {
        "subject": "Broken", "contact_id": ctx.shared_contact["id"]}),
    ("post", "/api/v1/tickets/bulk"): lambda ctx: Call("/api/v1/tickets/bulk", {
        "ids": [ctx.ticket()["id"], ctx.ticket()["id"]], "action": "status",
        "value": "solved"}, entries=2),
    ("patch", "/api/v1/tickets/{ticket_id}"): lambda ctx: (
        lambda t: Call(f"/api/v1/tickets/{t['id']}", versioned(t, priority="high")))(
        ctx.ticket()),
    ("delete", "/api/v1/tickets/{ticket_id}"): lambda ctx: Call(
        f"/api/v1/tickets/{ctx.ticket()['id']}"),
    ("post", "/api/v1/tickets/{ticket_id}/messages"): lambda ctx: Call(
        f"/api/v1/tickets/{ctx.ticket()['id']}/messages", {"kind": "note", "body": "Looking"}),
    # Products and orders.
    ("post", "/api/v1/products"): lambda ctx: Call("/api/v1/products", {
        "sku": "PH-1", "name": "Phone", "unit_price": "5"}),
    ("post", "/api/v1/products/bulk"): lambda ctx: Call("/api/v1/products/bulk", {"items": [
        {"sku": "PH-1", "name": "Phone", "unit_price": "5"},
        {"sku": "PH-2", "name": "Phone 2", "unit_price": "6"}]}, entries=2),
    ("patch", "/api/v1/products/{product_id}"): lambda ctx: (
        lambda p: Call(f"/api/v1/products/{p['id']}", versioned(p, name="Laptop 2")))(
        ctx.product()),
    ("delete", "/api/v1/products/{product_id}"): lambda ctx: Call(
        f"/api/v1/products/{ctx.product()['id']}"),
    ("post", "/api/v1/orders"): lambda ctx: Call("/api/v1/orders", {
        "number": "O-9", "lines": LINES, "contact": ctx.shared_contact["id"]}),
    ("post", "/api/v1/orders/bulk"): lambda ctx: Call("/api/v1/orders/bulk", {"items": [
        {"number": "O-7", "lines": LINES, "contact": ctx.shared_contact["id"]},
        {"number": "O-8", "lines": LINES, "contact": ctx.shared_contact["id"]}]}, entries=2),
    ("patch", "/api/v1/orders/{order_id}"): lambda ctx: (
        lambda o: Call(f"/api/v1/orders/{o['id']}", versioned(o, note="Gift")))(ctx.order()),
    ("delete", "/api/v1/orders/{order_id}"): lambda ctx: Call(
        f"/api/v1/orders/{ctx.order()['id']}"),
    # Segments, templates and campaigns.
    ("post", "/api/v1/segments"): lambda ctx: Call("/api/v1/segments", {
        "name": "All", "conditions": {"all": []}}),
    ("patch", "/api/v1/segments/{segment_id}"): lambda ctx: (
        lambda s: Call(f"/api/v1/segments/{s['id']}", versioned(s, name="Most")))(
        ctx.segment()),
    ("delete", "/api/v1/segments/{segment_id}"): lambda ctx: Call(
        f"/api/v1/segments/{ctx.segment()['id']}"),
    ("post", "/api/v1/templates"): lambda ctx: Call("/api/v1/templates", {
        "name": "Promo", "subject": "Sale", "html": "<p>Sale</p>"}),
    ("patch", "/api/v1/templates/{template_id}"): lambda ctx: Call(
        f"/api/v1/templates/{ctx.template['id']}", versioned(ctx.template, subject="Hi")),
    ("delete", "/api/v1/templates/{template_id}"): lambda ctx: Call(
        f"/api/v1/templates/{ctx.template['id']}"),
    ("post", "/api/v1/campaigns"): lambda ctx: Call("/api/v1/campaigns", {
        "name": "Autumn", "template_id": ctx.template["id"], "segment_id": ctx.segment()["id"],
        "from_email": "news@example.com"}),
    ("patch", "/api/v1/campaigns/{campaign_id}"): lambda ctx: (
        lambda c: Call(f"/api/v1/campaigns/{c['id']}", versioned(c, name="Winter")))(
        ctx.campaign()),
    ("delete", "/api/v1/campaigns/{campaign_id}"): lambda ctx: Call(
        f"/api/v1/campaigns/{ctx.campaign()['id']}"),
    # Webhooks and rules.
    ("post", "/api/v1/webhooks"): lambda ctx: Call("/api/v1/webhooks", {
        "url": "http://127.0.0.1:9/new", "events": ["contact.created"]}),
    ("patch", "/api/v1/webhooks/{webhook_id}"): lambda ctx: (
        lambda w: Call(f"/api/v1/webhooks/{w['id']}", versioned(w, description="CRM")))(
        ctx.webhook()),
    ("delete", "/api/v1/webhooks/{webhook_id}"): lambda ctx: Call(
        f"/api/v1/webhooks/{ctx.webhook()['id']}"),
    ("post", "/api/v1/rules"): lambda ctx: Call("/api/v1/rules", {
        "name": "Greet", "trigger": "created", "settings": {"entity": "contact"},
        "actions": [{"type": "create_task", "subject": "Call", "days": 1}]}),
    ("patch", "/api/v1/rules/{rule_id}"): lambda ctx: (
        lambda r: Call(f"/api/v1/rules/{r['id']}", versioned(r, name="Hello")))(ctx.rule()),
    ("delete", "/api/v1/rules/{rule_id}"): lambda ctx: Call(
        f"/api/v1/rules/{ctx.rule()['id']}"),
    # The organisation and privacy.
    ("patch", "/api/v1/organization"): lambda ctx: Call("/api/v1/organization",
                                                       {"name": "Renamed Ltd"}),
    ("post", "/api/v1/privacy/requests"): lambda ctx: Call("/api/v1/privacy/requests", {
        "contact": ctx.shared_contact["id"], "kind": "export"}),
    # Deals beyond create and change.
    ("post", "/api/v1/deals/{deal_id}/stage"): lambda ctx: (
        lambda d: Call(f"/api/v1/deals/{d['id']}/stage", versioned(
            d, stage_id=ctx.stage()["id"])))(ctx.deal()),
    ("put", "/api/v1/deals/{deal_id}/line-items"): lambda ctx: (
        lambda d: Call(f"/api/v1/deals/{d['id']}/line-items", versioned(d, items=[
            {"name": "Desk", "quantity": "2", "unit_price": "300.50"}])))(ctx.deal()),
    ("delete", "/api/v1/deals/{deal_id}/contacts/{contact_id}"): lambda ctx: (
        lambda d: (ctx.make(f"/api/v1/deals/{d['id']}/contacts",
                            {"contact_id": ctx.shared_contact["id"]}),
                   Call(f"/api/v1/deals/{d['id']}/contacts/{ctx.shared_contact['id']}"))[1])(
        ctx.deal()),
    ("put", "/api/v1/exchange-rates"): lambda ctx: Call("/api/v1/exchange-rates", {
        "currency": "eur", "valid_on": "2026-01-02", "rate": "1.0825"}),
    ("put", "/api/v1/quotas"): lambda ctx: Call("/api/v1/quotas", {
        "user_id": ctx.admin_id, "period": "quarter", "starts_on": "2026-04-01",
        "amount": "50000"}),
    # Leads beyond create and change.
    # Converting writes one entry for each record it makes (a company and a contact here)
    # and one for the lead.
    ("post", "/api/v1/leads/{lead_id}/convert"): lambda ctx: (
        lambda lead: Call(f"/api/v1/leads/{lead['id']}/convert", versioned(lead),
                          entries=3))(ctx.lead()),
    ("post", "/api/v1/leads/{lead_id}/events"): lambda ctx: Call(
        f"/api/v1/leads/{ctx.lead()['id']}/events", {"type": "email.opened"}),
    ("post", "/api/v1/lead-assignment-rules"): lambda ctx: Call(
        "/api/v1/lead-assignment-rules", {"name": "All", "owner_id": ctx.admin_id}),
    ("patch", "/api/v1/lead-assignment-rules/{assignment_rule_id}"): lambda ctx: (
        lambda r: Call(f"/api/v1/lead-assignment-rules/{r['id']}", versioned(r, name="Any")))(
        ctx.assignment_rule()),
    ("delete", "/api/v1/lead-assignment-rules/{assignment_rule_id}"): lambda ctx: Call(
        f"/api/v1/lead-assignment-rules/{ctx.assignment_rule()['id']}"),
    ("post", "/api/v1/lead-scoring-rules"): lambda ctx: Call("/api/v1/lead-scoring-rules", {
        "name": "Clicked", "event_type": "email.clicked", "points": 3}),
    ("patch", "/api/v1/lead-scoring-rules/{scoring_rule_id}"): lambda ctx: (
        lambda r: Call(f"/api/v1/lead-scoring-rules/{r['id']}", versioned(r, points=7)))(
        ctx.scoring_rule()),
    ("delete", "/api/v1/lead-scoring-rules/{scoring_rule_id}"): lambda ctx: Call(
        f"/api/v1/lead-scoring-rules/{ctx.scoring_rule()['id']}"),
    # Service desk settings and articles.
    ("post", "/api/v1/queues"): lambda ctx: Call("/api/v1/queues", {"name": "Sales"}),
    ("patch", "/api/v1/queues/{queue_id}"): lambda ctx: (
        lambda q: Call(f"/api/v1/queues/{q['id']}", versioned(q, name="Money")))(ctx.queue()),
    ("post", "/api/v1/sla-policies"): lambda ctx: Call("/api/v1/sla-policies", {
        "name": "Silver", "resolution_minutes": 120}),
    ("patch", "/api/v1/sla-policies/{policy_id}"): lambda ctx: (
        lambda p: Call(f"/api/v1/sla-policies/{p['id']}", versioned(p, name="Platinum")))(
        ctx.policy()),
    ("delete", "/api/v1/sla-policies/{policy_id}"): lambda ctx: Call(
        f"/api/v1/sla-policies/{ctx.policy()['id']}"),
    ("post", "/api/v1/business-calendars"): lambda ctx: Call("/api/v1/business-calendars", {
        "name": "Shop", "time_zone": "Europe/Berlin", "hours": {"1": [["09:00", "17:00"]]}}),
    ("patch", "/api/v1/business-calendars/{calendar_id}"): lambda ctx: (
        lambda c: Call(f"/api/v1/business-calendars/{c['id']}", versioned(c, name="Depot")))(
        ctx.calendar()),
    ("delete", "/api/v1/business-calendars/{calendar_id}"): lambda ctx: Call(
        f"/api/v1/business-calendars/{ctx.calendar()['id']}"),
    ("post", "/api/v1/articles"): lambda ctx: Call("/api/v1/articles", {"title": "Refunds"}),
    ("patch", "/api/v1/articles/{article_id}"): lambda ctx: (
        lambda a: Call(f"/api/v1/articles/{a['id']}", versioned(a, title="Resetting")))(
        ctx.article()),
    ("delete", "/api/v1/articles/{article_id}"): lambda ctx: Call(
        f"/api/v1/articles/{ctx.article()['id']}"),
    ("post", "/api/v1/articles/{article_id}/publish"): lambda ctx: (
        lambda a: Call(f"/api/v1/articles/{a['id']}/publish", versioned(a)))(ctx.article()),
    ("post", "/api/v1/articles/{article_id}/unpublish"): lambda ctx: (
        lambda a: Call(f"/api/v1/articles/{a['id']}/unpublish", versioned(
            ctx.make(f"/api/v1/articles/{a['id']}/publish", versioned(a)))))(ctx.article()),
    # Subscriptions.
    ("post", "/api/v1/subscriptions"): lambda ctx: Call("/api/v1/subscriptions", {
        "contact": ctx.shared_contact["id"], "plan_name": "Yearly", "mrr": "10"}),
    ("patch", "/api/v1/subscriptions/{subscription_id}"): lambda ctx: (
        lambda s: Call(f"/api/v1/subscriptions/{s['id']}", versioned(
            s, status="cancelled", cancel_reason="Too dear")))(ctx.subscription()),
    ("delete", "/api/v1/subscriptions/{subscription_id}"): lambda ctx: Call(
        f"/api/v1/subscriptions/{ctx.subscription()['id']}"),
    # Marketing beyond campaigns.
    ("post", "/api/v1/forms"): lambda ctx: Call("/api/v1/forms", {"name": "Signup"}),
    ("patch", "/api/v1/forms/{form_id}"): lambda ctx: (
        lambda f: Call(f"/api/v1/forms/{f['id']}", versioned(f, name="Seminar")))(ctx.form()),
    ("delete", "/api/v1/forms/{form_id}"): lambda ctx: Call(f"/api/v1/forms/{ctx.form()['id']}"),
    ("post", "/api/v1/suppressions"): lambda ctx: Call("/api/v1/suppressions", {
        "address": "bounced@example.com"}),
    ("delete", "/api/v1/suppressions/{suppression_id}"): lambda ctx: Call(
        f"/api/v1/suppressions/{ctx.suppression()['id']}"),
    ("post", "/api/v1/sequences"): lambda ctx: Call("/api/v1/sequences", {
        "name": "Nurture", "from_email": "news@example.com",
        "steps": [{"type": "wait", "amount": 2, "unit": "days"}]}),
    ("patch", "/api/v1/sequences/{sequence_id}"): lambda ctx: (
        lambda q: Call(f"/api/v1/sequences/{q['id']}", versioned(q, name="Onboard")))(
        ctx.sequence()),
    ("delete", "/api/v1/sequences/{sequence_id}"): lambda ctx: Call(
        f"/api/v1/sequences/{ctx.sequence()['id']}"),
    # Reports.
    ("post", "/api/v1/reports"): lambda ctx: Call("/api/v1/reports", {
        "name": "Firms", "definition": {"entity": "companies"}}),
    ("patch", "/api/v1/reports/{report_id}"): lambda ctx: (
        lambda r: Call(f"/api/v1/reports/{r['id']}", versioned(r, name="Everyone")))(
        ctx.report()),
    ("delete", "/api/v1/reports/{report_id}"): lambda ctx: Call(
        f"/api/v1/reports/{ctx.report()['id']}"),
    # Retention rules.
    ("post", "/api/v1/retention-rules"): lambda ctx: Call("/api/v1/retention-rules", {
        "entity": "activity", "age_days": 730, "action": "delete"}),
    ("patch", "/api/v1/retention-rules/{retention_rule_id}"): lambda ctx: (
        lambda r: Call(f"/api/v1/retention-rules/{r['id']}", versioned(r, age_days=400)))(
        ctx.retention_rule()),
    ("delete", "/api/v1/retention-rules/{retention_rule_id}"): lambda ctx: Call(
        f"/api/v1/retention-rules/{ctx.retention_rule()['id']}"),
    # Relationships, record types and records.
    ("post", "/api/v1/contacts/{contact_id}/relationships"): lambda ctx: Call(
        f"/api/v1/contacts/{ctx.contact()['id']}/relationships",
        {"related_id": ctx.contact("Ben")["id"], "role": "spouse"}),
    ("patch", "/api/v1/contacts/{contact_id}/relationships/{relationship_id}"): lambda ctx: (
        lambda pair: Call(f"/api/v1/contacts/{pair[0]['id']}/relationships/{pair[1]['id']}",
                          versioned(pair[1], note="Since 2001")))(ctx.relationship()),
    ("delete", "/api/v1/contacts/{contact_id}/relationships/{relationship_id}"): lambda ctx: (
        lambda pair: Call(f"/api/v1/contacts/{pair[0]['id']}/relationships/{pair[1]['id']}"))(
        ctx.relationship()),
    ("post", "/api/v1/record-types"): lambda ctx: Call("/api/v1/record-types", {
        "key": "vessel", "singular": "Vessel", "plural": "Vessels"}),
    ("patch", "/api/v1/record-types/{type_key}"): lambda ctx: Call(
        f"/api/v1/record-types/{ctx.record_type['key']}",
        versioned(ctx.record_type, description="Houses")),
    ("delete", "/api/v1/record-types/{type_key}"): lambda ctx: Call(
        f"/api/v1/record-types/{ctx.record_type['key']}"),
    ("post", "/api/v1/records/{type_key}"): lambda ctx: Call(
        f"/api/v1/records/{ctx.record_type['key']}", {"values": {"address": "2 High St"}}),
    ("patch", "/api/v1/records/{type_key}/{record_id}"): lambda ctx: (
        lambda r: Call(f"/api/v1/records/{ctx.record_type['key']}/{r['id']}",
                       versioned(r, values={"address": "3 Low St"})))(ctx.record()),
    ("delete", "/api/v1/records/{type_key}/{record_id}"): lambda ctx: Call(
        f"/api/v1/records/{ctx.record_type['key']}/{ctx.record()['id']}"),
    # Settings, custom fields and packs.
    ("patch", "/api/v1/custom-fields/{field_id}"): lambda ctx: Call(
        f"/api/v1/custom-fields/{ctx.custom_field()}", {"label": "Rank"}),
    ("patch", "/api/v1/organization/visibility"): lambda ctx: Call(
        "/api/v1/organization/visibility", {"roles": {"sales": {"leads": "team"}}}),
    ("patch", "/api/v1/organization/single-sign-on"): lambda ctx: Call(
        "/api/v1/organization/single-sign-on", {"allowed_domains": ["example.com"]}),
    # Applying a pack writes one entry for each setting it makes: this pack's custom
    # fields, tags, pipeline, stages, segments and the rest.
    ("post", "/api/v1/packs/{name}/apply"): lambda ctx: Call(
        "/api/v1/packs/ecommerce-retail/apply", {"dry_run": False}, entries=27),
    # Product feeds.
    ("post", "/api/v1/product-feeds"): lambda ctx: Call("/api/v1/product-feeds", {
        "name": "Shop", "url": "http://127.0.0.1:9/shop.csv"}),
    ("patch", "/api/v1/product-feeds/{feed_id}"): lambda ctx: (
        lambda f: Call(f"/api/v1/product-feeds/{f['id']}", versioned(f, name="Store")))(
        ctx.feed()),
    ("delete", "/api/v1/product-feeds/{feed_id}"): lambda ctx: Call(
        f"/api/v1/product-feeds/{ctx.feed()['id']}"),
    # Campaigns, segments and sequences in motion.
    ("post", "/api/v1/campaigns/{campaign_id}/start"): lambda ctx: Call(
        f"/api/v1/campaigns/{ctx.campaign()['id']}/start"),
    ("post", "/api/v1/campaigns/{campaign_id}/cancel"): lambda ctx: Call(
        f"/api/v1/campaigns/{ctx.campaign()['id']}/cancel"),
    ("post", "/api/v1/segments/{segment_id}/refresh"): lambda ctx: Call(
        f"/api/v1/segments/{ctx.segment(kind='frozen')['id']}/refresh"),
    ("post", "/api/v1/sequences/{sequence_id}/enrolments"): lambda ctx: Call(
        f"/api/v1/sequences/{ctx.sequence()['id']}/enrolments",
        {"contact_ids": [ctx.shared_contact["id"]]}),
    ("delete", "/api/v1/sequences/{sequence_id}/enrolments/{enrolment_id}"): lambda ctx: Call(
        ctx.enrolment()),
    ("post", "/api/v1/contacts/{contact_id}/texts"): lambda ctx: Call(
        f"/api/v1/contacts/{ctx.texting_contact()['id']}/texts", {"body": "Your order shipped"}),
    # Dismissing a suggested duplicate notes it in the history of both contacts.
    ("post", "/api/v1/duplicates/{pair_id}/dismiss"): lambda ctx: Call(
        f"/api/v1/duplicates/{ctx.duplicate_pair()}/dismiss", {}, entries=2),
    # Imports, behaviour events and packs.
    # The API uploads an import and starts it in one call; the pages do it in two steps,
    # and each step writes its entry.
    ("post", "/api/v1/imports"): lambda ctx: Call("/api/v1/imports", upload(), entries=2,
                                                  multipart=True),
    ("post", "/api/v1/imports/{import_id}/cancel"): lambda ctx: Call(
        f"/api/v1/imports/{ctx.import_job()['id']}/cancel"),
    ("post", "/api/v1/imports/{import_id}/undo"): lambda ctx: Call(
        f"/api/v1/imports/{ctx.finished_import()}/undo", {}, entries=3),
    ("post", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay"): lambda ctx: (
        lambda ids: Call(f"/api/v1/webhooks/{ids[0]}/deliveries/{ids[1]}/replay", {}))(
        ctx.delivery()),
    # Removing a pack writes one entry for each thing it takes away.
    ("post", "/api/v1/packs/{name}/remove"): lambda ctx: (
        ctx.make("/api/v1/packs/ecommerce-retail/apply", {"dry_run": False}),
        Call("/api/v1/packs/ecommerce-retail/remove", {"delete_data": False}, entries=25))[1],
    # Exports and retention runs.
    ("post", "/api/v1/retention-rules/{retention_rule_id}/runs"): lambda ctx: Call(
        f"/api/v1/retention-rules/{ctx.retention_rule()['id']}/runs"),
}

EXEMPT = {
    ("post", "/api/v1/events"): "stores behaviour telemetry a site sends in batches (page views, "
                                "purchases), idempotent by event id; it edits no record",
    ("post", "/api/v1/exports"): "queues the job; the worker writes the export's one audit entry "
                                 "(who exported what, how many rows) with the file",
    ("post", "/api/v1/product-feeds/{feed_id}/run"):
        "hands a run to the worker; each product the run changes is audited there",
    ("post", "/api/v1/segments/preview"): "counts the contacts conditions match; saves nothing",
    ("post", "/api/v1/rules/{rule_id}/dry-run"): "shows what a rule would do; changes nothing",
    ("post", "/api/v1/retention-rules/{retention_rule_id}/dry-run"):
        "lists the records a retention rule would remove; removes nothing",
    ("post", "/api/v1/records/{type_key}/conflict-check"):
        "searches for parties a new record would conflict with; a read",
}

NOT_YET_COVERED: dict[tuple[str, str], str] = {}


def write_operations() -> set[tuple[str, str]]:
    return {(method, path) for path, methods in api.get_openapi_schema()["paths"].items()
            for method in methods if method in WRITE_METHODS}


def test_every_write_operation_has_a_recipe_or_a_reason():
    operations = write_operations()
    listed = [set(RECIPES), set(EXEMPT), set(NOT_YET_COVERED)]

    unlisted = sorted(operations - set().union(*listed))
    twice = sorted(op for op in operations if sum(op in group for group in listed) > 1)
    stale = sorted(set().union(*listed) - operations)

    assert len(operations) > 100  # the walk found the API
    assert unlisted == []
    assert twice == []
    assert stale == []


def org_rows(org) -> dict[str, str]:
    """Every tenant table's rows of `org`, as canonical lines, keyed by table."""
    with scopes_disabled():
        return {model._meta.label: b"".join(_rows(model, model._base_manager.filter(
            organization=org))).decode() for model in tenant_models()}


def entries_of(org):
    with scopes_disabled():
        return list(AuditEntry.unscoped.filter(organization=org).order_by("id"))


def call(client: Client, method: str, call_: Call):
    if call_.multipart:
        return client.post(call_.path, call_.body)
    body = json.dumps(call_.body) if call_.body is not None else None
    if body is None:
        return getattr(client, method)(call_.path)
    return getattr(client, method)(call_.path, body, content_type="application/json")


@pytest.fixture
def context(admin, api_client_for, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    return Context(api_client_for(admin), admin)


@pytest.mark.parametrize(("method", "path"), sorted(RECIPES))
def test_the_operation_writes_its_audit_entries(org, admin, context, method, path):
    call_ = RECIPES[(method, path)](context)
    before = {entry.pk for entry in entries_of(org)}

    response = call(context.client, method, call_)

    assert response.status_code < 300, response.content
    new = [entry for entry in entries_of(org) if entry.pk not in before]
    assert len(new) == call_.entries, [(e.action, e.entity, e.object_id) for e in new]
    assert {(entry.organization_id, entry.actor_id) for entry in new} == {
        (org.pk, admin.user_id)}


def fail_to_record(*args, **kwargs):
    raise RuntimeError("The audit trail cannot be written.")


# A retention run removes what its rule matches a batch per transaction and audits the
# run when it ends, so the run's own log row outlives a failed final audit entry. Undoing
# an import works the same way: each batch removes its records with their entries, and
# the import's own entry comes at the end.
BATCHED = {("post", "/api/v1/retention-rules/{retention_rule_id}/runs"),
           ("post", "/api/v1/imports/{import_id}/undo")}


@pytest.mark.parametrize(("method", "path"), [
    pytest.param(*operation, marks=pytest.mark.xfail(strict=True, reason="batched run"))
    if operation in BATCHED else operation for operation in sorted(RECIPES)])
def test_a_failed_audit_entry_undoes_the_change(org, context, monkeypatch, method, path):
    call_ = RECIPES[(method, path)](context)
    context.fetch("/api/v1/organization")  # the token's first use stamps it
    context.client.raise_request_exception = False
    before = org_rows(org)
    monkeypatch.setattr(audit, "record", fail_to_record)

    call(context.client, method, call_)

    after = org_rows(org)
    assert [table for table in before if before[table] != after[table]] == []
