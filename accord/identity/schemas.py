"""What the API shows of the organisation's people: members, teams and the caller."""

import datetime as dt

from ninja import Field, Schema
from pydantic import ConfigDict

from .models import Role


class MemberOut(Schema):
    id: int = Field(description="The user's id, as used in owner_id and assignee_id.")
    email: str
    full_name: str
    time_zone: str
    role: str
    team_id: int | None
    team_name: str | None
    is_active: bool
    joined_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_id(obj) -> int:
        return obj.user_id

    @staticmethod
    def resolve_email(obj) -> str:
        return obj.user.email

    @staticmethod
    def resolve_full_name(obj) -> str:
        return obj.user.full_name

    @staticmethod
    def resolve_time_zone(obj) -> str:
        return obj.user.time_zone

    @staticmethod
    def resolve_team_name(obj) -> str | None:
        return obj.team.name if obj.team_id else None

    @staticmethod
    def resolve_is_active(obj) -> bool:
        return obj.is_active and obj.user.is_active

    @staticmethod
    def resolve_joined_at(obj) -> dt.datetime:
        return obj.created_at


class MemberPage(Schema):
    items: list[MemberOut]
    next: str | None


class MemberFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    ordering: str | None = Field(None, description="name, email or joined_at.")
    q: str | None = Field(None, description="Words that must all occur in name or e-mail.")
    role: list[Role] = Field(default_factory=list, description="Repeatable.")
    team_id: int | None = None
    is_active: bool | None = None


class TeamOut(Schema):
    id: int
    name: str
    lead_id: int | None
    member_ids: list[int] = Field(description="User ids of the team's active members.")
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_member_ids(obj) -> list[int]:
        return sorted(m.user_id for m in obj.memberships.all() if m.is_active)


class TeamPage(Schema):
    items: list[TeamOut]
    next: str | None


class TeamFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    ordering: str | None = Field(None, description="name or created_at.")
    q: str | None = None


class OrganizationOut(Schema):
    id: int
    name: str
    slug: str
    base_currency: str
    time_zone: str
    tax_rounding: str = Field(description="line: tax rounded on each line; document: once "
                                          "on the total.")


class OrganizationPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    base_currency: str | None = None
    time_zone: str | None = None
    tax_rounding: str | None = None


class CallerTokenOut(Schema):
    name: str
    scopes: list[str] = Field(description='What the token may reach; "*" is everything the '
                                          "role allows.")
    expires_at: dt.datetime | None


class MeOut(Schema):
    id: int
    email: str
    full_name: str
    time_zone: str
    role: str
    team_id: int | None
    organization: OrganizationOut
    permissions: list[str] = Field(description="What this caller's role may do.")
    token: CallerTokenOut | None = Field(
        description="The API token of this call, or null for a signed-in browser.")


class VisibilityOut(Schema):
    version: int = Field(description="0 until the setting is first saved.")
    updated_at: dt.datetime | None
    roles: dict[str, dict[str, str]] = Field(
        description="For each role but admin (who sees every record), the scope per area "
                    "(contacts, companies, deals, leads): own, team or all.")


class VisibilityPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    roles: dict[str, dict[str, str]] = Field(
        description="The cells to change, such as {\"sales\": {\"contacts\": \"own\"}}; the "
                    "others stay.")
    version: int | None = Field(None, description="The version read; a stale one answers 409.")


class SingleSignOnOut(Schema):
    version: int = Field(description="0 until the settings are first saved.")
    updated_at: dt.datetime | None
    enabled: bool
    issuer: str
    client_id: str
    client_secret_set: bool = Field(description="Whether a client secret is stored. The "
                                                "secret itself is never returned.")
    allowed_domains: list[str]
    create_members: bool = Field(description="Whether people of an allowed domain who are "
                                             "not members yet are added on first sign-in.")
    new_member_role: str
    require_sso: bool = Field(description="Members other than admins cannot sign in with a "
                                          "password.")
    redirect_uri: str = Field(description="The address to register with the provider.")


class SingleSignOnPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = Field(None, description="Write-only; stored encrypted.")
    allowed_domains: list[str] | None = None
    create_members: bool | None = None
    new_member_role: str | None = None
    require_sso: bool | None = None
    version: int | None = Field(None, description="The version read; a stale one answers 409.")
