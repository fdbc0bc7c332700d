"""Ninja schemas of the web form API."""

import datetime as dt

from ninja import Field, Schema

from .schemas import InputSchema


class FormField(Schema):
    name: str = Field(description="A contact field (`first_name`, `last_name`, `email`, "
                      "`phone`, `company_name`, `title`, `message`) or `cf_<key>` for a "
                      "contact custom field.")
    label: str = ""
    required: bool = False


class FormFieldIn(FormField):
    model_config = InputSchema.model_config


class WebFormFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    ordering: str | None = Field(None, description="`name`, `created_at` or `updated_at`, "
                                 "`-` in front for descending.")
    q: str | None = Field(None, description="Words in the form's name.")


class WebFormOut(Schema):
    id: int
    name: str
    public_key: str = Field(description="The key in the form's public addresses.")
    public_url: str = Field(description="The form's own page.")
    submit_url: str = Field(description="Where a site posts JSON submissions.")
    fields: list[FormField]
    consent_purpose: str
    consent_text: str
    creates: str
    lifecycle_stage: str
    owner_id: int | None
    tags: list[str]
    thank_you: str
    redirect_url: str
    double_opt_in: bool
    allowed_origins: list[str]
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class WebFormPage(Schema):
    items: list[WebFormOut]
    next: str | None


class WebFormIn(InputSchema):
    name: str
    fields: list[FormFieldIn] = Field(default_factory=list, description="Asked in this order; "
                                    "`email` is always asked and always required.")
    consent_purpose: str = Field("", description="A consent purpose such as `newsletter`; "
                                 "empty for no consent checkbox.")
    consent_text: str = ""
    creates: str = Field("contact", description="`contact` or `lead`.")
    lifecycle_stage: str = Field("", description="Stage of new contacts; empty for the "
                                 "default.")
    owner_id: int | None = None
    tags: list[str] = Field(default_factory=list)
    thank_you: str = ""
    redirect_url: str = Field("", description="An http or https address to send visitors to.")
    double_opt_in: bool = False
    allowed_origins: list[str] = Field(default_factory=list, description="Origins such as "
                                       "`https://www.example.com` that may post from script.")
    is_active: bool = True


class WebFormPatch(InputSchema):
    name: str | None = None
    fields: list[FormFieldIn] | None = None
    consent_purpose: str | None = None
    consent_text: str | None = None
    creates: str | None = None
    lifecycle_stage: str | None = None
    owner_id: int | None = None
    tags: list[str] | None = None
    thank_you: str | None = None
    redirect_url: str | None = None
    double_opt_in: bool | None = None
    allowed_origins: list[str] | None = None
    is_active: bool | None = None
    version: int = Field(description="The version the change is based on.")


class SubmissionFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")


class SubmissionOut(Schema):
    id: int
    form_id: int
    data: dict = Field(description="The answers by field name.")
    utm: dict = Field(description="`utm_source`, `utm_medium`, ... as sent or as found in "
                      "the page's address.")
    page_url: str
    referrer: str
    ip: str
    contact_id: int | None
    lead_id: int | None
    consent: str = Field(description="Empty when not given, `pending` until the e-mailed "
                         "link is followed, or `granted`.")
    consent_purpose: str
    consent_text: str = Field(description="The consent text exactly as shown.")
    confirmed_at: dt.datetime | None
    created_at: dt.datetime


class SubmissionPage(Schema):
    items: list[SubmissionOut]
    next: str | None
