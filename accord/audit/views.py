"""The audit log: every change in the organisation, filtered and paged by cursor."""

import csv
import datetime as dt

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import F
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from django_scopes import scope

from accord.errors import InvalidInput
from accord.identity.permissions import has_permission, permission_required
from accord.identity.visibility import through_audit
from accord.integrations import services as imports
from accord.integrations.writers import text_cell
from accord.pagination import Ordering, paginate

from .history import VIA_LABELS, describe_entries, entity_label
from .models import Action, AuditEntry

User = get_user_model()

PAGE_SIZE = 50
ORDERING = Ordering("id", F("id"), descending=True)
NO_USER = "none"
RECORD_URLS = {
    "contact": "customers:contact_detail",
    "company": "customers:company_detail",
    "activity": "activities:detail",
}
# Spreadsheet programs run a cell that starts with one of these as a formula.


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(label=gettext_lazy("Who"), required=False)
    entity = forms.ChoiceField(label=gettext_lazy("Record type"), required=False)
    action = forms.ChoiceField(
        label=gettext_lazy("Action"), required=False,
        choices=[("", gettext_lazy("Any action"))] + list(Action.choices),
    )
    date_from = forms.DateField(label=gettext_lazy("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=gettext_lazy("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    object_id = forms.IntegerField(label=gettext_lazy("Record id"), required=False,
                                   min_value=1)

    def __init__(self, *args, org, **kwargs):
        kwargs.setdefault("auto_id", "audit-%s")
        super().__init__(*args, **kwargs)
        users = User.objects.filter(memberships__organization=org).distinct()
        self.fields["actor"].choices = (
            [("", _("Anyone")), (NO_USER, _("No user (jobs and system)"))]
            + [(str(user.pk), str(user)) for user in users.order_by("full_name", "email")]
        )
        # Distinct over the (organization, entity, ...) index: one index scan,
        # cheap for the volumes an organisation's log reaches between purges.
        entities = AuditEntry.objects.order_by("entity").values_list("entity", flat=True)
        self.fields["entity"].choices = [("", _("Any record type"))] + [
            (entity, entity_label(entity)) for entity in entities.distinct()
        ]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("Choose an end date on or after the start date."))
        return cleaned

    def filter(self, queryset):
        data = self.cleaned_data
        if data.get("actor") == NO_USER:
            queryset = queryset.filter(actor__isnull=True)
        elif data.get("actor"):
            queryset = queryset.filter(actor_id=int(data["actor"]))
        if data.get("entity"):
            queryset = queryset.filter(entity=data["entity"])
        if data.get("action"):
            queryset = queryset.filter(action=data["action"])
        if data.get("object_id"):
            queryset = queryset.filter(object_id=data["object_id"])
        # Dates are days in the viewer's time zone; "to" includes the whole day.
        if data.get("date_from"):
            queryset = queryset.filter(created_at__gte=_start_of(data["date_from"]))
        if data.get("date_to"):
            queryset = queryset.filter(
                created_at__lt=_start_of(data["date_to"] + dt.timedelta(days=1))
            )
        return queryset


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@permission_required("audit.view")
@require_GET
def log(request):
    """The audit log page; `?export=csv` downloads every entry matching the filters."""
    form = AuditFilterForm(request.GET or None, org=request.organization)
    queryset = through_audit(AuditEntry.objects.select_related("actor"), request.membership)
    status = 200
    entries, next_cursor = [], None
    if form.is_bound and not form.is_valid():
        status = 422
    else:
        if form.is_bound:
            queryset = form.filter(queryset)
        if request.GET.get("export") == "csv":
            return _csv_response(request.organization, queryset, request.membership)
        try:
            entries, next_cursor = paginate(queryset, ORDERING,
                                            cursor=request.GET.get("cursor") or None,
                                            limit=PAGE_SIZE)
        except InvalidInput as exc:
            form.add_error(None, exc.errors[0]["message"])
            status = 422

    rows = describe_entries(entries, viewer=request.membership)
    import_urls = _import_urls(entries, request.membership)
    for entry in entries:
        entry.rows = rows[entry.pk]
        entry.entity_label = entity_label(entry.entity)
        entry.record_url = (import_urls.get(entry.object_id) if entry.entity == "import"
                            else _record_url(entry))
    params = request.GET.copy()
    params.pop("cursor", None)
    params.pop("export", None)
    context = {
        "form": form,
        "entries": entries,
        "next_url": _with(params, cursor=next_cursor) if next_cursor else None,
        "first_url": _with(params) if request.GET.get("cursor") else None,
        "export_url": _with(params, export="csv"),
    }
    template = "audit/auditentry_list.html"
    if request.htmx:
        template += "#audit-entries"
    return render(request, template, context, status=status)


def _with(params, **extra) -> str:
    query = params.copy()
    for key, value in extra.items():
        query[key] = value
    encoded = query.urlencode()
    return f"{reverse('audit:log')}?{encoded}" if encoded else reverse("audit:log")


def _record_url(entry: AuditEntry) -> str | None:
    name = RECORD_URLS.get(entry.entity)
    if name is None or entry.object_id is None or entry.action == Action.PURGE:
        return None
    try:
        return reverse(name, args=[entry.object_id])
    except NoReverseMatch:
        return None


def _import_urls(entries, membership) -> dict[int, str]:
    """{import id: its page} for the imports the entries are about that the reader may
    open: with `imports.view`, their own imports, or everyone's with `imports.any`."""
    ids = {entry.object_id for entry in entries
           if entry.entity == "import" and entry.object_id is not None}
    if not ids or not has_permission(membership, "imports.view"):
        return {}
    seen = imports.visible_imports(membership).filter(pk__in=ids).values_list("pk", flat=True)
    return {pk: reverse("integrations:import_detail", args=[pk]) for pk in seen}


class _Echo:
    def write(self, value):
        return value


def _csv_response(org, queryset, viewer) -> StreamingHttpResponse:
    """Every matching entry, one row per changed field, newest first, streamed."""
    writer = csv.writer(_Echo())
    header = [_("Entry"), _("When (UTC)"), _("Who"), _("Through"), _("IP address"),
              _("Action"), _("Record type"), _("Record id"), _("Record"), _("Field"),
              _("Old value"), _("New value")]

    # The rows are produced after the view has returned, outside the request's
    # tenant scope and time zone, so the generator opens both again.
    zone = timezone.get_current_timezone()

    def rows():
        with scope(organization=org), timezone.override(zone):
            yield writer.writerow(header)
            batch = []
            for entry in queryset.order_by("-id").iterator(chunk_size=500):
                batch.append(entry)
                if len(batch) == 500:
                    yield from _csv_rows(writer, batch, viewer)
                    batch = []
            yield from _csv_rows(writer, batch, viewer)

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response


def _csv_rows(writer, entries, viewer):
    described = describe_entries(entries, viewer=viewer)
    for entry in entries:
        for change in described[entry.pk]:
            yield writer.writerow([text_cell(value) for value in (
                entry.pk, entry.created_at.astimezone(dt.UTC).isoformat(), change.actor_label,
                VIA_LABELS.get(entry.via, entry.via), entry.ip, change.action_label,
                entry.entity, entry.object_id, entry.object_repr, change.label, change.old,
                change.new,
            )])
