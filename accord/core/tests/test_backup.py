import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db.migrations.recorder import MigrationRecorder
from django_scopes import scope, scopes_disabled

from accord import search
from accord.activities import services as activity_services
from accord.audit.models import AuditEntry
from accord.commerce import orders
from accord.core import backup
from accord.core.models import SearchEntry
from accord.customers import services as customer_services
from accord.customers.models import Contact, CustomField
from accord.identity.models import Membership, Organization, Role, User
from accord.integrations.models import ExportJob
from accord.sales import services as sales_services
from accord.service import services as service_services

KEY = "l2bdgKdYJEhXDUU6fF7BGYjtCXXwMxQp4mfXSvqz7Lw="


def run(command, *args, **options) -> dict:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err, **options)
    return json.loads(out.getvalue().strip().splitlines()[-1])


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FIELD_ENCRYPTION_KEYS = [KEY]


@pytest.fixture
def backup_file(filled, tmp_path):
    """`filled`, written to a file by `accord backup --org`; the file's path."""
    path = tmp_path / "filled.zip"
    run("backup", org=filled.slug, output=str(path))
    return path


@pytest.fixture
def filled(make_org, make_member):
    """An organisation with a record of each main kind, an encrypted custom field, a file
    and the audit trail its services write."""
    org = make_org("Filled")
    user = Membership.unscoped.get(organization=org, role=Role.ADMIN).user
    seller = make_member(org, Role.SALES, email="seller@example.com")
    with scope(organization=org):
        CustomField.objects.create(organization=org, entity="contact", key="income",
                                   label="Income", field_type="number", encrypted=True)
        CustomField.objects.create(organization=org, entity="contact", key="shoe",
                                   label="Shoe size", field_type="number")
        company = customer_services.create_company(org, user, data={
            "name": "Quokka Traders", "domain": "quokka.example"})
        contact = customer_services.create_contact(org, user, data={
            "first_name": "Ada", "last_name": "Quokka", "company": company.pk,
            "email": "ada@quokka.example", "tags": ["vip"], "owner": seller.user_id,
            "custom_fields": {"income": 52000, "shoe": 38}})
        customer_services.record_consent(org, user, contact, channel="email",
                                         purpose="marketing", status="granted",
                                         method="web_form")
        activity_services.log_activity(org, user, data={
            "kind": "note", "body": "Met at the fair", "contact": contact})
        sales_services.create_pipeline(org, user, name="New business")
        sales_services.create_deal(org, user, data={"name": "Forty laptops",
                                                    "company": company.pk})
        service_services.create_ticket(org, user, data={"subject": "Help",
                                                        "contact": contact.pk},
                                       body="The printer jams")
        orders.create_order(org, user, data={
            "number": "ORD-1", "contact": contact.pk,
            "lines": [{"description": "Lamp", "quantity": "2", "unit_price": "9.50"}]})
        export = ExportJob.objects.create(organization=org, entity="contacts", format="csv",
                                          status="done", created_by=user)
        export.file.save("exports/contacts.csv", ContentFile(b"email\nada@quokka.example\n"))
    return org


def rewritten(backup_path: Path, path: Path, member: str, change) -> Path:
    """A copy at `path` of the backup file, its `member` passed through `change` (bytes
    to bytes); `path`."""
    with zipfile.ZipFile(backup_path) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, change(data) if item.filename == member else data)
    return path


def erase(*organizations) -> None:
    """Delete every row of `organizations`, past the protection deleting one by one has."""
    ids = [organization.pk for organization in organizations]
    with scopes_disabled():
        for model in [*backup.tenant_models(), SearchEntry]:
            rows = model._base_manager.filter(organization_id__in=ids)
            rows._raw_delete(rows.db)
        Organization.objects.filter(pk__in=ids).delete()


def counts(org_id) -> dict:
    with scopes_disabled():
        return {"contacts": Contact.unscoped.filter(organization_id=org_id).count(),
                "audit": AuditEntry.unscoped.filter(organization_id=org_id).count(),
                "search": SearchEntry.unscoped.filter(organization_id=org_id).count()}


def test_an_organisation_round_trips_with_identical_checksums(filled, make_org, tmp_path):
    other = make_org("Other")
    path = tmp_path / "filled.zip"
    written = run("backup", org=filled.slug, output=str(path))
    before = counts(filled.pk)
    filled_id = filled.pk
    with scopes_disabled():
        stored = Path(ExportJob.unscoped.get(organization=filled).file.path)
    stored.unlink()
    erase(filled)

    restored = run("restore", str(path))

    assert restored["organizations"] == ["filled"]
    assert restored["checksums"] == written["checksums"]
    assert restored["rows"] == written["rows"]
    assert {label for label, rows in written["rows"].items() if rows} >= {
        "activities.Activity", "audit.AuditEntry", "commerce.Order", "commerce.OrderLine",
        "customers.Company", "customers.Consent", "customers.Contact", "customers.ContactTag",
        "customers.CustomField", "customers.Tag", "identity.Membership", "identity.User",
        "integrations.ExportJob", "sales.Deal", "service.Ticket", "service.TicketMessage"}
    assert written["rows"]["identity.User"] == 2
    assert counts(filled_id) == before
    again = run("backup", org="filled", output=str(tmp_path / "again.zip"))
    assert again["checksums"] == written["checksums"]
    assert stored.read_bytes() == b"email\nada@quokka.example\n"
    assert restored["files"] == 1
    assert Organization.objects.filter(slug=other.slug).exists()


def test_encrypted_values_stay_sealed_in_the_file_and_open_after_restore(backup_file, filled):
    with zipfile.ZipFile(backup_file) as archive:
        contacts = archive.read("data/customers.Contact.jsonl").decode()
        manifest = json.loads(archive.read("manifest.json"))
    erase(filled)

    run("restore", str(backup_file))

    assert "52000" not in contacts
    assert '"shoe":"38"' in contacts
    assert "FIELD_ENCRYPTION_KEYS" in manifest["note"]
    with scopes_disabled():
        contact = Contact.unscoped.get(email="ada@quokka.example")
    assert contact.custom_fields == {"income": "52000", "shoe": "38"}


def test_restore_links_a_user_who_exists_and_can_take_a_new_slug(backup_file, filled):
    with scopes_disabled():
        seller = User.objects.get(email="seller@example.com")
    erase(filled)
    users = User.objects.count()

    summary = run("restore", str(backup_file), org_slug="filled-again")

    assert summary["organizations"] == ["filled-again"]
    assert summary["users_linked"] == 2
    assert User.objects.count() == users
    organization = Organization.objects.get(slug="filled-again")
    with scope(organization=organization):
        assert Contact.objects.get().owner_id == seller.pk
        assert list(SearchEntry.objects.filter(entity=search.entity_of(Contact))
                    .values_list("title", flat=True)) == ["Ada Quokka"]


def test_the_whole_database_round_trips(filled, make_org, tmp_path, monkeypatch):
    # Batches of a few rows, so that tables span several reads and inserts.
    monkeypatch.setattr(backup, "CHUNK", 3)
    monkeypatch.setattr(backup, "INSERT_BATCH", 2)
    make_org("Second")
    path = tmp_path / "all.zip"
    written = run("backup", output=str(path))
    erase(*Organization.objects.all())
    User.objects.all().delete()

    restored = run("restore", str(path))

    assert restored["organizations"] == ["filled", "second"]
    assert restored["checksums"] == written["checksums"]
    assert run("backup", output=str(tmp_path / "again.zip"))["checksums"] == (
        written["checksums"])


def test_restore_refuses_a_slug_that_exists(backup_file):
    with pytest.raises(CommandError) as refused:
        run("restore", str(backup_file))

    assert str(refused.value) == (
        "Nothing was restored. An organisation with the slug 'filled' already exists; "
        "restore under another slug with --org-slug NEW.")


def test_restore_refuses_ids_that_are_taken_and_writes_nothing(backup_file):
    organizations = Organization.objects.count()

    with pytest.raises(CommandError) as refused:
        run("restore", str(backup_file), org_slug="copy")

    assert str(refused.value) == (
        "Nothing was restored. Rows of activities.Activity with ids in this backup already "
        "exist in this database; an organisation restores only where none of its ids is "
        "taken.")
    assert Organization.objects.count() == organizations


def test_restore_refuses_a_newer_format(backup_file, tmp_path):
    newer = rewritten(backup_file, tmp_path / "newer.zip", "manifest.json", lambda data: (
        json.dumps({**json.loads(data), "format_version": 2}).encode()))

    with pytest.raises(CommandError) as refused:
        run("restore", str(newer))

    assert str(refused.value) == (
        "Nothing was restored. The backup has format version 2, newer than this Accord reads "
        "(1). Restore it with the Accord version that wrote it.")


def test_restore_refuses_a_database_with_other_migrations(backup_file):
    MigrationRecorder.Migration.objects.create(app="customers", name="9999_later")

    with pytest.raises(CommandError) as refused:
        run("restore", str(backup_file))

    assert str(refused.value) == (
        "Nothing was restored. The backup was written by a database with other migrations; "
        "migrate both to the same version first. customers: this database has 9999_later "
        "applied, the backup does not.")


def test_restore_refuses_a_damaged_file(backup_file, filled, tmp_path):
    damaged = rewritten(backup_file, tmp_path / "damaged.zip", "data/customers.Company.jsonl",
                        lambda data: data.replace(b"Quokka Traders", b"Wombat Traders"))
    erase(filled)

    with pytest.raises(CommandError) as refused:
        run("restore", str(damaged))

    assert str(refused.value) == (
        "Nothing was restored. The backup is damaged: the rows of customers.Company do not "
        "match the checksum in its manifest.")
    assert not Organization.objects.filter(slug="filled").exists()


def test_a_user_whose_id_is_taken_gets_a_new_one_and_rows_follow(backup_file, filled):
    seller = User.objects.get(email="seller@example.com")
    erase(filled)
    seller.delete()
    User.objects.create(pk=seller.pk, email="someone.else@example.com")

    summary = run("restore", str(backup_file))

    assert summary["users_linked"] == 1
    moved = User.objects.get(email="seller@example.com")
    assert moved.pk != seller.pk
    organization = Organization.objects.get(slug="filled")
    with scope(organization=organization):
        assert Contact.objects.get().owner_id == moved.pk
        assert Membership.objects.filter(user=moved, role=Role.SALES).exists()


@pytest.mark.parametrize(("command", "args", "options", "message"), [
    ("backup", [], {"org": "nowhere", "output": "x.zip"},
     "No organisation has the slug 'nowhere'."),
    ("restore", ["missing.zip"], {}, "There is no file at missing.zip."),
    ("restore", ["not-a-zip"], {}, "Nothing was restored. This is not an Accord backup: it is "
     "not a zip file."),
    ("restore", ["filled.zip"], {"org_slug": "no slug!"},
     "'no slug!' is not a slug: use letters, digits, hyphens and underscores."),
])
def test_bad_arguments_stop_with_a_clear_message(filled, tmp_path, monkeypatch, command, args,
                                                 options, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not-a-zip").write_text("hello")
    (tmp_path / "filled.zip").write_bytes(b"")

    with pytest.raises(CommandError) as refused:
        run(command, *args, **options)

    assert str(refused.value) == message
