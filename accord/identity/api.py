"""The caller, the organisation's settings, its members and teams, under `/api/v1/`."""

from django.db.models import Q
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router

from accord.errors import NotFound
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import organization, sso, visibility
from .api_auth import allow
from .models import Membership, Team
from .permissions import ROLE_PERMISSIONS
from .schemas import (
    MemberFilters,
    MemberOut,
    MemberPage,
    MeOut,
    OrganizationOut,
    OrganizationPatch,
    SingleSignOnOut,
    SingleSignOnPatch,
    TeamFilters,
    TeamOut,
    TeamPage,
    VisibilityOut,
    VisibilityPatch,
)

router = Router(tags=["identity"])

MEMBER_ORDERINGS = {"name": Lower("user__full_name"), "email": "user__email",
                    "joined_at": "created_at"}
TEAM_ORDERINGS = {"name": Lower("name"), "created_at": "created_at"}


def _page(queryset, ordering, params) -> dict:
    items, next_cursor = paginate(queryset, ordering, cursor=params.cursor,
                                  limit=clamp_limit(params.limit))
    return {"items": items, "next": next_cursor}


@router.get("/me", response=MeOut, summary="The caller, their role and organisation")
def read_me(request: HttpRequest):
    membership = request.membership
    user = membership.user
    return {
        "id": user.pk, "email": user.email, "full_name": user.full_name,
        "time_zone": user.time_zone, "role": membership.role, "team_id": membership.team_id,
        "organization": membership.organization,
        "permissions": sorted(ROLE_PERMISSIONS[membership.role]),
        "token": request.api_token,
    }


@router.get("/organization", response=OrganizationOut, tags=["organization"],
            summary="The organisation's settings")
def read_organization(request: HttpRequest):
    return request.organization


@router.patch("/organization", response=OrganizationOut, tags=["organization"],
              summary="Change the organisation's settings",
              description="Admins only. The base currency cannot change while exchange rates "
                          "exist, as they are quoted in it.")
def update_organization(request: HttpRequest, payload: OrganizationPatch):
    allow(request, "settings.manage")
    return organization.update_organization(request.organization, request.user,
                                            data=payload.dict(exclude_unset=True))


def _visibility_out(policy) -> dict:
    return {"version": policy.version, "updated_at": policy.updated_at,
            "roles": visibility.table(policy)}


@router.get("/organization/visibility", response=VisibilityOut, tags=["organization"],
            summary="Which records each role sees", description="Admins only.")
def read_visibility(request: HttpRequest):
    allow(request, "settings.manage")
    return _visibility_out(visibility.policy_of(request.organization))


@router.patch("/organization/visibility", response=VisibilityOut, tags=["organization"],
              summary="Change which records each role sees",
              description="Admins only. Managers choose between team and all; admins always "
                          "see every record. The change applies to the next request.")
def update_visibility(request: HttpRequest, payload: VisibilityPatch):
    allow(request, "settings.manage")
    policy = visibility.update_visibility(request.organization, request.user,
                                          roles=payload.roles, expected_version=payload.version)
    return _visibility_out(policy)


def _single_sign_on_out(request, config) -> dict:
    return {
        "version": config.version, "updated_at": config.updated_at, "enabled": config.enabled,
        "issuer": config.issuer, "client_id": config.client_id,
        "client_secret_set": bool(config.encrypted_client_secret),
        "allowed_domains": config.allowed_domains, "create_members": config.create_members,
        "new_member_role": config.new_member_role, "require_sso": config.require_sso,
        "redirect_uri": request.build_absolute_uri(reverse("identity:sso_callback")),
    }


@router.get("/organization/single-sign-on", response=SingleSignOnOut, tags=["organization"],
            summary="The organisation's single sign-on settings",
            description="Admins only. The client secret is never returned.")
def read_single_sign_on(request: HttpRequest):
    allow(request, "settings.manage")
    return _single_sign_on_out(request, sso.configuration_of(request.organization))


@router.patch("/organization/single-sign-on", response=SingleSignOnOut,
              tags=["organization"], summary="Change the single sign-on settings",
              description="Admins only. Fields left out stay as they are; an empty or "
                          "missing client_secret keeps the stored one.")
def update_single_sign_on(request: HttpRequest, payload: SingleSignOnPatch):
    allow(request, "settings.manage")
    data = payload.dict(exclude_unset=True)
    version = data.pop("version", None)
    config = sso.update_single_sign_on(request.organization, request.user, data=data,
                                       expected_version=version)
    return _single_sign_on_out(request, config)


@router.get("/users", response=MemberPage, tags=["users"], summary="List members")
def list_members(request: HttpRequest, filters: Query[MemberFilters]):
    allow(request, "members.view")
    ordering = parse_ordering(filters.ordering, MEMBER_ORDERINGS, "name")
    queryset = Membership.objects.select_related("user", "team")
    if filters.role:
        queryset = queryset.filter(role__in=filters.role)
    if filters.team_id is not None:
        queryset = queryset.filter(team_id=filters.team_id)
    if filters.is_active is not None:
        active = Q(is_active=True, user__is_active=True)
        queryset = queryset.filter(active if filters.is_active else ~active)
    for word in (filters.q or "").split():
        queryset = queryset.filter(Q(user__full_name__icontains=word)
                                   | Q(user__email__icontains=word))
    return _page(queryset, ordering, filters)


@router.get("/users/{user_id}", response=MemberOut, tags=["users"], summary="Read a member")
def read_member(request: HttpRequest, user_id: int):
    allow(request, "members.view")
    membership = Membership.objects.select_related("user", "team").filter(
        user_id=user_id).first()
    if membership is None:
        raise NotFound("No member with this id.")
    return membership


@router.get("/teams", response=TeamPage, tags=["teams"], summary="List teams")
def list_teams(request: HttpRequest, filters: Query[TeamFilters]):
    allow(request, "teams.view")
    ordering = parse_ordering(filters.ordering, TEAM_ORDERINGS, "name")
    queryset = Team.objects.prefetch_related("memberships")
    for word in (filters.q or "").split():
        queryset = queryset.filter(name__icontains=word)
    return _page(queryset, ordering, filters)


@router.get("/teams/{team_id}", response=TeamOut, tags=["teams"], summary="Read a team")
def read_team(request: HttpRequest, team_id: int):
    allow(request, "teams.view")
    team = Team.objects.prefetch_related("memberships").filter(pk=team_id).first()
    if team is None:
        raise NotFound("No team with this id.")
    return team
