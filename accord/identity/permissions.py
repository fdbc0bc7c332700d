"""The one permission layer: what each role may do, used by views and API alike.

A permission is "<area>.<action>". Views call `require`, API handlers call it
through `accord.api_auth`, and templates ask `can`; nothing else decides access.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accord.errors import NotFound, NotPermitted

from .models import Membership, Role

VIEW_RECORDS = {
    "contacts.view", "companies.view", "activities.view", "tasks.view", "tags.view",
    "custom_fields.view", "members.view", "teams.view", "imports.view",
    "deals.view", "pipelines.view", "forecast.view", "products.view", "leads.view",
    "tickets.view", "knowledge.view", "orders.view", "segments.view",
    # Forms and what was sent through them: the people sent it to be contacted,
    # and everyone who sees contacts sees where they came from.
    "forms.view",
    "campaigns.view",
    # Records of the organisation's own types (properties, policies, matters).
    "records.view",
}
# A merge loses nothing (every value and link is kept, the merged record stays
# and the audit trail shows each choice), so it is an edit of the records, not
# a deletion: every role that may change contacts and companies may merge them.
MERGE = {"records.merge"}
EDIT_RECORDS = {
    "contacts.add", "contacts.change", "companies.add", "companies.change",
    "activities.add", "activities.change", "tasks.change", "tags.add",
    "deals.add", "deals.change", "leads.add", "leads.change", "leads.convert",
    "tickets.add", "tickets.change", "orders.add", "orders.change",
    "records.add", "records.change",
    # Behaviour events from shops and apps, sent with a member's API token.
    "events.send",
} | MERGE
DELETE_RECORDS = {
    "contacts.delete", "companies.delete", "activities.delete", "deals.delete",
    "leads.delete", "tickets.delete", "orders.delete", "trash.restore", "records.delete",
}
# Pipelines and their stages shape every salesperson's board and the
# forecast; quotas are targets set for people. Managers and admins set both,
# and keep the exchange rates and the product catalogue the amounts rest on.
SALES_SETUP = {"pipelines.manage", "quotas.manage", "rates.manage", "products.manage"}
# Queues, SLA policies, business hours and canned replies shape how every
# agent works, so they are set up by managers and admins.
SERVICE_SETUP = {"service.manage"}
# Writing and publishing knowledge-base articles is support work, so support
# agents do it beside managers and admins; every role may read them.
KNOWLEDGE = {"knowledge.manage"}
# Segments choose who campaigns and automation reach, so the people who run
# campaigns build them: marketing, managers and admins. Everyone who sees
# contacts may look at them.
SEGMENTS = {"segments.manage"}
# Web forms decide what strangers may write into the CRM and which consent
# text they agree to, so the people who run campaigns build them, as segments.
FORMS = {"forms.manage"}
# Workflow rules change records, assign work and send e-mail and webhooks on
# the organisation's behalf, for every record whoever owns it: they are set
# up, tried and watched by the people who decide how the organisation works,
# managers and admins. Their run logs name records of every team, so viewing
# them needs the same permission.
AUTOMATION = {"automation.manage"}
# Campaigns e-mail many customers at once in the organisation's name, and the
# suppression list decides who never gets one: the people who build segments
# (marketing, managers, admins) run them too.
CAMPAIGNS = {"campaigns.manage"}
BULK = {"contacts.bulk", "companies.bulk"}
EXPORT = {"contacts.export", "companies.export", "deals.export", "leads.export",
          "tickets.export", "orders.export", "records.export"}
# Export jobs copy every field of every record out of Accord, the whole
# organisation at once if asked, so they belong with the other admin actions:
# admins and managers only, who already read the audit log and the trash.
# Sales and marketing keep the quick CSV of the list in front of them
# (EXPORT above); support and read-only members export nothing.
DATA_EXPORT = {"data.export"}
IMPORT = {"imports.run", "imports.undo"}
MANAGE = {"audit.view", "trash.view"}
ADMIN_ONLY = {
    "members.manage", "teams.manage", "custom_fields.manage", "settings.manage",
    # Record types shape the navigation, forms and API of everyone, as
    # custom fields do.
    "record_types.manage",
    "tags.manage", "trash.purge",
    # Seeing and downloading everyone's export jobs, not only one's own.
    "data.export_any",
    # Seeing, cancelling and undoing everyone's imports, not only one's own:
    # an import's file and rejected rows hold records of every team, and its
    # undo trashes them.
    "imports.any",
    # Webhooks send record data to an address outside Accord.
    "webhooks.manage",
    # Data-subject requests copy out or erase everything about a person, and
    # retention rules delete records in bulk: both are the data controller's
    # decisions.
    "privacy.manage",
    # Industry packs add fields, pipelines, rules and sample records across
    # every area at once, and their removal can delete what people entered.
    "packs.manage",
}
OWN_TOKENS = {"tokens.own"}
# A report counts and sums records the member may already see, so every role
# that sees records may build reports, save private ones and keep dashboards.
REPORTS = {"reports.view"}
# Shared reports appear for the whole organisation and scheduled ones send
# e-mail to other members, so the roles that inform others build them:
# marketing (campaign results), managers and admins.
REPORTS_MANAGE = {"reports.manage"}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(
        VIEW_RECORDS | EDIT_RECORDS | DELETE_RECORDS | BULK | EXPORT | DATA_EXPORT | IMPORT
        | MANAGE | ADMIN_ONLY | OWN_TOKENS | SALES_SETUP | SERVICE_SETUP | KNOWLEDGE | SEGMENTS
        | FORMS | REPORTS | REPORTS_MANAGE | AUTOMATION | CAMPAIGNS
    ),
    Role.MANAGER: frozenset(
        VIEW_RECORDS | EDIT_RECORDS | DELETE_RECORDS | BULK | EXPORT | DATA_EXPORT | IMPORT
        | MANAGE | OWN_TOKENS | SALES_SETUP | SERVICE_SETUP | KNOWLEDGE | SEGMENTS
        | FORMS | REPORTS | REPORTS_MANAGE | AUTOMATION | CAMPAIGNS
    ),
    Role.SALES: frozenset(VIEW_RECORDS | EDIT_RECORDS | EXPORT | OWN_TOKENS | REPORTS),
    Role.MARKETING: frozenset(
        VIEW_RECORDS | EDIT_RECORDS | BULK | EXPORT | OWN_TOKENS | SEGMENTS | FORMS | REPORTS
        | REPORTS_MANAGE | CAMPAIGNS
    ),
    Role.SUPPORT: frozenset(VIEW_RECORDS | EDIT_RECORDS | OWN_TOKENS | KNOWLEDGE | REPORTS),
    Role.READ_ONLY: frozenset(VIEW_RECORDS | REPORTS),
}

ALL_PERMISSIONS = frozenset().union(*ROLE_PERMISSIONS.values())


def has_permission(membership: Membership | None, permission: str) -> bool:
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"Unknown permission {permission!r}")
    if membership is None or not membership.is_active:
        return False
    return permission in ROLE_PERMISSIONS[membership.role]


def own_unless(membership: Membership, jobs, permission: str):
    """The background jobs (imports, exports) of `jobs` the member may see: those they
    started, or all of them with `permission`."""
    if has_permission(membership, permission):
        return jobs
    return jobs.filter(created_by=membership.user)


def require(membership: Membership | None, permission: str) -> None:
    """Raise NotPermitted unless the membership's role grants `permission`."""
    if not has_permission(membership, permission):
        raise NotPermitted("Your role does not allow this action.")


def permission_required(permission: str | None = None):
    """Decorate a view: sign-in, an active membership and, when given, `permission`.

    Inside the view, NotPermitted raised by a service answers 403 and NotFound
    answers 404, so a record of another organisation looks like no record.
    """

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            try:
                if permission is None:
                    if request.membership is None:
                        raise NotPermitted("You are not a member of this organisation.")
                else:
                    require(request.membership, permission)
                return view(request, *args, **kwargs)
            except NotPermitted as exc:
                raise PermissionDenied(exc.detail) from None
            except NotFound as exc:
                raise Http404(exc.detail) from None

        return wrapped

    return decorator
