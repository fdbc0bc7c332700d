"""Ninja schemas of the e-mail template and campaign API."""

import datetime as dt

from ninja import Field, Schema

from .schemas import InputSchema


class ListFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    ordering: str | None = Field(None, description="`name`, `created_at` or `updated_at`, "
                                 "`-` in front for descending.")
    q: str | None = Field(None, description="Words in the name.")


class CampaignFilters(ListFilters):
    status: str | None = Field(None, description="`draft`, `scheduled`, `sending`, `sent` or "
                               "`cancelled`.")


class TemplateOut(Schema):
    id: int
    name: str
    subject: str
    html: str = Field(description="The sanitised HTML body, with its merge fields.")
    text: str = Field(description="The plain-text part.")
    text_by_hand: bool = Field(description="False when the plain text is made from the HTML.")
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class TemplatePage(Schema):
    items: list[TemplateOut]
    next: str | None


class TemplateIn(InputSchema):
    name: str
    subject: str = Field(description='May hold merge fields, such as '
                         '`{{ contact.first_name|default:"there" }}`.')
    html: str = Field(description="HTML; sanitised when saved. Merge fields and {% if %} "
                      "blocks are allowed, loops are not.")
    text: str = ""
    text_by_hand: bool = Field(False, description="Keep `text` as given instead of making "
                               "it from the HTML.")


class TemplatePatch(InputSchema):
    name: str | None = None
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    text_by_hand: bool | None = None
    version: int = Field(description="The version you read; 409 when stale.")


class PreviewOut(Schema):
    subject: str
    html: str
    text: str


class CampaignOut(Schema):
    id: int
    name: str
    template_id: int
    segment_id: int
    from_name: str
    from_email: str
    status: str
    scheduled_at: dt.datetime | None
    in_recipient_time_zone: bool = Field(description="Each recipient gets the e-mail at the "
                                         "time of day of `scheduled_at` (in the organisation's "
                                         "time zone) in their own time zone.")
    subject_b: str = Field(description="The second subject of the subject test; empty for "
                           "none.")
    test_percent: int = Field(description="Share of the recipients in the subject test, "
                              "0 to 100; the rest get the winning subject.")
    test_hours: int = Field(description="Hours after the start before the winner is chosen.")
    test_metric: str = Field(description="`opens` or `clicks`: what the winner has more of.")
    test_ends_at: dt.datetime | None
    winner: str = Field(description="`a` (the template's subject) or `b` once chosen; "
                        "empty before.")
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class CampaignPage(Schema):
    items: list[CampaignOut]
    next: str | None


class CampaignIn(InputSchema):
    name: str
    template_id: int
    segment_id: int
    from_name: str = ""
    from_email: str
    scheduled_at: dt.datetime | None = Field(None, description="When to send; leave out to "
                                             "keep a draft, to be started by hand.")
    in_recipient_time_zone: bool = Field(False, description="Send at the time of day of "
                                         "`scheduled_at` in each recipient's time zone; needs "
                                         "`scheduled_at`.")
    subject_b: str = ""
    test_percent: int = Field(0, description="Share of the recipients in a subject test "
                              "(0 to 100); 0 for no test.")
    test_hours: int = Field(4, description="Hours from the start until the winner is "
                            "chosen, 1 to 168.")
    test_metric: str = Field("opens", description="`opens` or `clicks`.")


class CampaignPatch(InputSchema):
    name: str | None = None
    template_id: int | None = None
    segment_id: int | None = None
    from_name: str | None = None
    from_email: str | None = None
    scheduled_at: dt.datetime | None = None
    in_recipient_time_zone: bool | None = None
    subject_b: str | None = None
    test_percent: int | None = None
    test_hours: int | None = None
    test_metric: str | None = None
    version: int = Field(description="The version you read; 409 when stale.")


class CampaignReport(Schema):
    recipients: int = Field(description="Contacts in the segment when the campaign started, "
                            "the ones left out included.")
    included: int = Field(description="Contacts in the segment not left out: the ones the "
                          "campaign is sent to.")
    excluded: dict[str, int] = Field(description="Contacts left out, by reason.")
    statuses: dict[str, int] = Field(description="Recipients in each sending status.")
    delivered: int = Field(description="E-mails the mail server accepted.")
    opened: int
    clicked: int
    unsubscribed: int
    bounced: int
    failed: int
    links: list[dict] = Field(description="Each tracked link with its clicks.")
    subject_test: dict | None = Field(description="With a subject test: `a` and `b` (subject, "
                                      "sent, opened, clicked, open_rate, click_rate), `held`, "
                                      "`metric`, `ends_at`, `winner` (null until chosen) "
                                      "and `skipped` (true when the campaign had fewer than "
                                      "two recipients, so no test was run and everyone got "
                                      "A).")


class SuppressionFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    ordering: str | None = Field(None, description="`address` or `created_at`, `-` in front "
                                 "for descending.")
    q: str | None = Field(None, description="Part of the address.")
    reason: str | None = Field(None, description="`manual`, `unsubscribed`, `bounced` or "
                               "`complaint`.")


class SuppressionOut(Schema):
    id: int
    address: str = Field(description="Lower-case; no campaign sends to it.")
    reason: str
    note: str
    campaign_id: int | None = Field(description="The campaign that bounced or unsubscribed "
                                    "it, if any.")
    created_at: dt.datetime
    updated_at: dt.datetime = Field(description="An entry never changes: its creation time.")
    version: int = Field(description="Always 1: an entry is added or taken off, never "
                         "changed.")

    @staticmethod
    def resolve_updated_at(entry) -> dt.datetime:
        return entry.created_at

    @staticmethod
    def resolve_version(entry) -> int:
        return 1


class SuppressionPage(Schema):
    items: list[SuppressionOut]
    next: str | None


class SuppressionIn(InputSchema):
    address: str
    reason: str = Field("manual", description="`manual`, `unsubscribed`, `bounced` or "
                        "`complaint`.")
    note: str = ""
