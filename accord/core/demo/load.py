"""Writing the demo plan into the database through the services.

Everything goes through the same services the UI and the API use, inside the
demo organisation's scope and on the "cli" channel, so the demo's audit
trail and timelines look exactly like ones people made.
"""

import datetime as dt
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone
from django_scopes import scope

from accord.activities import services as activities
from accord.audit.context import channel
from accord.customers import services as customers
from accord.identity import services as identity
from accord.identity.models import Organization

from . import DEMO_ADMIN_EMAIL, DEMO_NAME
from . import orders as orders_loader
from . import sales as sales_loader
from . import support as support_loader
from .plan import Plan, make_plan
from .sales_data import SalesData, generate

User = get_user_model()

Progress = Callable[[str, int, int], None]


def _quiet(step: str, done: int, total: int) -> None:
    return None


def load_demo(password: str, *, now: dt.datetime | None = None,
              sales: SalesData | None = None,
              progress: Progress = _quiet) -> tuple[Organization, sales_loader.SalesReport]:
    """Build the demo organisation in one transaction; return it and what its sales hold.

    All or nothing: a failure leaves no half-built demo behind. Every demo
    user gets `password`. The deals come from `sales`, else from a data set
    generated to end on the day of `now`. The caller checks that no demo
    exists yet.
    """
    now = now or timezone.now()
    plan = make_plan(now=now)
    if sales is None:
        sales = generate(last_day=now.date())
    # Hash once: the password hasher is deliberately slow, and forty users
    # share the one demo password.
    hashed = make_password(password)

    # The demo's members have addresses nobody reads, so the invitation
    # e-mails that make them members are discarded rather than sent.
    dummy_mail = "django.core.mail.backends.dummy.EmailBackend"
    with override_settings(EMAIL_BACKEND=dummy_mail), channel("cli"), transaction.atomic():
        org, admin = identity.create_organization(
            DEMO_NAME, admin_email=DEMO_ADMIN_EMAIL, admin_name=plan.people[0].full_name,
        )
        _set_password(admin, hashed)
        with scope(organization=org):
            users = _load_people(org, admin, plan, hashed, progress)
            _load_custom_fields(org, admin, plan)
            companies = _load_companies(org, admin, plan, users, progress)
            contacts = _load_contacts(org, admin, plan, users, companies, progress)
            _load_activities(org, plan, users, contacts, progress)
            report = sales_loader.load_sales(org, admin, sales, hashed_password=hashed,
                                             progress=progress)
            orders_loader.load_orders(org, admin, contacts, now=now)
    return org, report


def add_sales(org, sales: SalesData, *, password: str | None,
              progress: Progress = _quiet) -> sales_loader.SalesReport | None:
    """Add the sales data set to a demo built before it had one; None when it has it.

    New members get `password`, or no usable password when it is not known.
    """
    hashed = make_password(password)
    dummy_mail = "django.core.mail.backends.dummy.EmailBackend"
    with override_settings(EMAIL_BACKEND=dummy_mail), channel("cli"), transaction.atomic(), \
            scope(organization=org):
        if sales_loader.is_loaded():
            return None
        admin = User.objects.get(email=DEMO_ADMIN_EMAIL)
        return sales_loader.load_sales(org, admin, sales, hashed_password=hashed,
                                       progress=progress)


SUPPORT_QUEUE = "Support"
SUPPORT_ADDRESS = "support@demo.example.com"


def add_support(org, rows: list[dict], *, now: dt.datetime | None = None
                ) -> support_loader.SupportReport | None:
    """Give the demo its support queue and the tickets of `rows`; None when it has tickets.

    The queue's address is the demo's main support address, so mail sent to
    it on the local listener becomes a ticket.
    """
    from accord.service import queues
    from accord.service.models import Queue

    with channel("cli"), transaction.atomic(), scope(organization=org):
        if support_loader.is_loaded():
            return None
        admin = User.objects.get(email=DEMO_ADMIN_EMAIL)
        queue = Queue.objects.filter(name=SUPPORT_QUEUE).first()
        if queue is None:
            queue = queues.create_queue(org, admin, data={
                "name": SUPPORT_QUEUE, "email_address": SUPPORT_ADDRESS, "is_default": True})
        return support_loader.load_tickets(org, admin, rows, queue=queue, now=now)


def _set_password(user, hashed: str) -> None:
    user.password = hashed
    user.save(update_fields=["password"])


def _load_people(org, admin, plan: Plan, hashed: str, progress: Progress) -> list:
    """Teams, then each person invited with their role and accepting, then team leads."""
    teams = {name: identity.save_team(org, admin, name=name) for name in plan.teams}
    users = [admin]
    total = len(plan.people)
    for number, person in enumerate(plan.people[1:], start=2):
        user = User.objects.filter(email=person.email).first()
        if user is None:
            user = User.objects.create(email=person.email, full_name=person.full_name,
                                       password=hashed)
        else:
            _set_password(user, hashed)
        team = teams.get(person.team) if person.team else None
        invitation = identity.invite_member(
            org, admin, email=person.email, role=person.role, team=team,
            accept_url_template="/invitations/{token}",
        )
        identity.accept_invitation(invitation, user=user)
        users.append(user)
        progress("people", number, total)
    for person, user in zip(plan.people, users, strict=True):
        if person.leads_team:
            team = teams[person.team]
            identity.save_team(org, admin, name=team.name, lead=user, team=team)
    return users


def _load_custom_fields(org, admin, plan: Plan) -> None:
    for spec in plan.custom_fields:
        customers.create_custom_field(org, admin, data=spec)


def _load_companies(org, admin, plan: Plan, users: list, progress: Progress) -> list:
    # Parents come first in the plan, so a subsidiary's parent always exists.
    companies = []
    total = len(plan.companies)
    for number, company in enumerate(plan.companies, start=1):
        data = dict(company.data, owner=users[company.owner])
        if company.parent is not None:
            data["parent"] = companies[company.parent]
        companies.append(customers.create_company(org, admin, data=data))
        progress("companies", number, total)
    return companies


def _load_contacts(org, admin, plan: Plan, users: list, companies: list,
                   progress: Progress) -> list:
    """Contacts with their consent history, and some moved on to a later stage."""
    contacts = []
    total = len(plan.contacts)
    for number, spec in enumerate(plan.contacts, start=1):
        owner = users[spec.owner]
        data = dict(spec.data, owner=owner, company=companies[spec.company])
        contact = customers.create_contact(org, admin, data=data)
        for consent in spec.consents:
            customers.record_consent(org, owner, contact, **consent)
        if spec.moves_to:
            contact = customers.update_contact(org, owner, contact,
                                               data={"lifecycle_stage": spec.moves_to})
        contacts.append(contact)
        progress("contacts", number, total)
    return contacts


def _load_activities(org, plan: Plan, users: list, contacts: list,
                     progress: Progress) -> None:
    total = len(plan.activities)
    for number, spec in enumerate(plan.activities, start=1):
        data = dict(spec.data, contact=contacts[spec.contact])
        if spec.assignee is not None:
            data["assignee"] = users[spec.assignee]
        activities.log_activity(org, users[spec.author], data=data)
        progress("timeline", number, total)
