import io
import json

import pytest
from django.core.management import CommandError, call_command

from accord.audit.models import AuditEntry
from accord.customers.models import Contact, ContactPhone
from accord.integrations.models import ImportJob


def run(*args, **options) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import", *args, stdout=out, stderr=err, **options)
    return json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


def test_bom_csv_creates_three_contacts_with_accents_intact(org, admin, in_org, case):
    summary, _ = run(str(case("csv-utf8-bom-header/contacts_bom.csv")), org=org.slug,
                     entity="contact")

    assert (summary["created"], summary["failed"]) == (3, 0)
    assert summary["mapping"] == {"email": "email", "first_name": "first_name",
                                  "last_name": "last_name", "phone": "phone"}
    with in_org(org):
        rows = sorted(Contact.objects.values_list("first_name", "last_name", "email", "phone"))
        raw = sorted(ContactPhone.objects.values_list("raw", flat=True))
    assert rows == [
        ("Anke", "Vos", "anke.vos@example.com", "+31201234567"),
        ("Mira", "Holt", "mira.holt@example.org", "+442079460101"),
        ("Tomás", "Reyes", "tomas.reyes@example.net", "+34912345678"),
    ]
    assert raw == ["+31 20 123 4567", "+34 912 345 678", "+44 20 7946 0101"]


def test_dry_run_writes_nothing(org, admin, in_org, case):
    summary, _ = run(str(case("csv-utf8-bom-header/contacts_bom.csv")), org=org.slug,
                     entity="contact", dry_run=True)

    assert (summary["created"], summary["dry_run"], summary["import_id"]) == (3, True, None)
    with in_org(org):
        assert Contact.objects.count() == 0
        assert ImportJob.objects.count() == 0


@pytest.mark.parametrize(("args", "options", "message"), [
    (["missing.csv"], {"entity": "contact"}, "There is no file at missing.csv."),
    ([None], {"entity": "contact", "org": "nowhere"}, "No organisation has the slug 'nowhere'."),
    ([None], {"entity": "contact", "as": "stranger@example.com"},
     "stranger@example.com is not an active member of"),
    ([None], {"entity": "contact", "mapping": "missing.json"},
     "The mapping file missing.json cannot be read."),
])
def test_bad_arguments_stop_with_a_clear_message(org, admin, case, args, options, message):
    path = str(case("csv-utf8-bom-header/contacts_bom.csv"))
    args = [path if arg is None else arg for arg in args]
    options = {"org": org.slug, **options}
    if "as" in options:
        options["acting"] = options.pop("as")

    with pytest.raises(CommandError, match=message.replace(".", r"\.")):
        call_command("import", *args, stdout=io.StringIO(), stderr=io.StringIO(), **options)


def test_a_mapping_naming_an_unknown_field_is_refused(org, admin, case, tmp_path):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"email": "fax_number"}))

    with pytest.raises(CommandError, match="mapping.email: There is no contact field"):
        run(str(case("csv-utf8-bom-header/contacts_bom.csv")), org=org.slug,
            entity="contact", mapping=str(mapping))


def test_a_file_that_cannot_be_read_is_explained(org, admin, tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" * 8)

    with pytest.raises(CommandError, match="file: This is an old-style Excel"):
        run(str(path), org=org.slug, entity="contact")


def test_rows_not_taken_are_printed_on_stderr_and_counted(org, admin, in_org, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("email,first_name\nada@example.com,Ada\nnope,Bad\nada@example.com,Ada\n")

    summary, err = run(str(path), org=org.slug, entity="contact", duplicates="skip")

    assert {key: summary[key] for key in ("created", "updated", "skipped", "failed")} == {
        "created": 1, "updated": 0, "skipped": 1, "failed": 1}
    assert "row 3 email: Enter a valid e-mail address, such as name@example.com." in err
    with in_org(org):
        assert ImportJob.objects.get().created_by == admin.user
        assert list(AuditEntry.objects.filter(entity="contact").values_list(
            "action", "via", "actor")) == [("create", "cli", admin.user.pk)]


def test_imported_contacts_are_checked_for_duplicates(org, admin, in_org, case):
    from accord.customers.models import DuplicatePair

    # Rows 5 and 6 of this file are "José Ibáñez" (decomposed) and "Jose
    # Ibanez": the same folded name with different e-mails.
    summary, _ = run(str(case("search-accent-insensitive/contacts_accents.csv")),
                     org=org.slug, entity="contact")

    assert summary["created"] == 7
    assert summary["possible_duplicates"] == 1
    with in_org(org):
        pair = DuplicatePair.objects.get()
        names = sorted(str(Contact.objects.get(pk=pk)) for pk in (pair.low_id, pair.high_id))
    assert names == ["Jose Ibanez", "José Ibáñez"]
    assert pair.status == "open"


def test_a_company_keeps_the_phone_of_its_phone_column(org, admin, in_org, tmp_path):
    from accord.customers.models import Company

    path = tmp_path / "companies.csv"
    path.write_text("Name,Phone,Domain\nPhoneCo A,+44 20 7946 0000,phoneco-a.example\n"
                    "FreshPhone Ltd,+44 20 7946 0123,\n", encoding="utf-8")

    summary, _ = run(str(path), org=org.slug, entity="company")

    assert (summary["created"], summary["failed"]) == (2, 0)
    with in_org(org):
        phones = sorted(Company.objects.values_list("name", "phone"))
    assert phones == [("FreshPhone Ltd", "+442079460123"), ("PhoneCo A", "+442079460000")]


def test_an_owner_who_is_no_member_here_does_not_stop_the_row(org, admin, in_org, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("E-mail,First name,Owner\nann@example.com,Ann,someone@elsewhere.example\n"
                    "bo@example.com,Bo,someone@elsewhere.example\n", encoding="utf-8")

    summary, err = run(str(path), org=org.slug, entity="contact")

    assert (summary["created"], summary["failed"]) == (2, 0)
    assert ("row 2 Owner: No active member of this organisation has this e-mail address or "
            "name. The record is owned by the person who imported it.") in err
    with in_org(org):
        owners = set(Contact.objects.values_list("owner__email", flat=True))
    assert owners == {admin.user.email}


def test_all_e_mails_and_phones_columns_of_an_export_come_back(org, admin, in_org, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(
        "First name,E-mail,All e-mails,All phones\n"
        "Femke,femke.a@mail.example,"
        '"femke.a@mail.example; F.Achterberg@polder.example; facturen@polder.example",'
        '"+31 6 12345678; +31 10 123 4567"\n', encoding="utf-8")

    summary, _ = run(str(path), org=org.slug, entity="contact")

    assert (summary["created"], summary["failed"]) == (1, 0)
    with in_org(org):
        contact = Contact.objects.get()
        emails = list(contact.emails.order_by("-is_primary", "id")
                      .values_list("address", "kind", "is_primary"))
        phones = list(contact.phones.order_by("-is_primary", "id")
                      .values_list("raw", "is_primary"))
    assert emails == [("femke.a@mail.example", "work", True),
                      ("F.Achterberg@polder.example", "other", False),
                      ("facturen@polder.example", "other", False)]
    assert phones == [("+31 6 12345678", True), ("+31 10 123 4567", False)]


def test_vcard_categories_become_tags(org, admin, in_org, tmp_path):
    path = tmp_path / "tagged.vcf"
    path.write_bytes(b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Femke Achterberg\r\n"
                     b"N:Achterberg;Femke;;;\r\nCATEGORIES:vip,Trade fair\\, 2025\r\n"
                     b"END:VCARD\r\n")

    summary, err = run(str(path), org=org.slug, entity="contact")

    assert (summary["created"], summary["failed"]) == (1, 0)
    assert "CATEGORIES" not in err
    with in_org(org):
        tags = sorted(Contact.objects.get().tag_links.values_list("tag__name", flat=True))
    assert tags == ["Trade fair, 2025", "vip"]


@pytest.mark.parametrize("rows", [
    ["Bluth Company,Acme Corporation,US", "Acme Corporation,,US"],
    ["Acme Corporation,,US", "Bluth Company,Acme Corporation,US"],
])
def test_a_parent_named_in_the_file_is_one_company_whichever_row_comes_first(
    org, admin, in_org, tmp_path, rows
):
    from accord.customers.models import Company

    path = tmp_path / "accounts.csv"
    path.write_text("account,subsidiary_of,office_location\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"account": "name", "subsidiary_of": "parent",
                                   "office_location": "country"}), encoding="utf-8")

    summary, _ = run(str(path), org=org.slug, entity="company", mapping=str(mapping),
                     duplicates="skip")

    assert summary["failed"] == 0
    with in_org(org):
        companies = sorted(Company.objects.values_list("name", "parent__name", "country"))
    assert companies == [("Acme Corporation", None, "US"),
                         ("Bluth Company", "Acme Corporation", "US")]


def test_the_help_and_the_readme_name_every_kind_of_record_the_command_takes():
    import subprocess
    import sys
    from pathlib import Path

    from accord.integrations import entities

    shown = subprocess.run([sys.executable, "-m", "accord", "import", "--help"],
                           capture_output=True, text=True, timeout=120).stdout
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    [table_row] = [line for line in readme.splitlines() if line.startswith("| `accord import")]
    plural = {"company": "companies", "custom_field": "custom field definitions",
              "activity": "activities"}

    described = " ".join(shown.split("positional arguments", 1)[0].split())
    for entity in entities.REGISTRY:
        assert plural.get(entity, f"{entity}s") in described, entity
        assert entity in table_row.split("--entity ", 1)[1].split(" ", 1)[0].split("\\|"), entity


def test_a_stopped_run_keeps_the_chunks_it_committed_and_is_cancelled(
    org, admin, in_org, tmp_path, monkeypatch
):
    from accord.integrations import engine

    path = tmp_path / "many.csv"
    rows = [f"Person{number},person{number}@example.com" for number in range(engine.CHUNK + 5)]
    path.write_text("first_name,email\n" + "\n".join(rows) + "\n", encoding="utf-8")
    write_chunk = engine._write_chunk
    written = []

    def fail_on_the_second_chunk(run, job, chunk):
        if written:
            raise KeyboardInterrupt
        written.append(len(chunk))
        return write_chunk(run, job, chunk)

    monkeypatch.setattr(engine, "_write_chunk", fail_on_the_second_chunk)
    with pytest.raises(CommandError, match=f"Stopped after {engine.CHUNK} rows"):
        run(str(path), org=org.slug, entity="contact")

    with in_org(org):
        job = ImportJob.objects.get()
        assert Contact.objects.count() == engine.CHUNK
    assert (job.status, job.rows_done, job.created_count) == (
        "cancelled", engine.CHUNK, engine.CHUNK)


def test_imported_contacts_have_the_search_text_a_reindex_gives_them(org, admin, in_org,
                                                                      tmp_path):
    from accord import search
    from accord.core.models import SearchEntry

    path = tmp_path / "contacts.csv"
    path.write_text(
        "First name,Last name,E-mail,Other e-mails,Mobile,Work phone,Country,Company\n"
        "Siobhán,O'Rourke,s.orourke@example.ie,shiv@example.com;s@example.org,"
        "+353 85 123 4567,01 234 5678,IE,Łódź Traders\n"
        "Jörg,Weiß,,,,030 1234567,DE,\n"
        "Ada,,ada@example.com,,0049 30 901820,+44 (0)20 7946 0958 ext. 42,,Łódź Traders\n"
        ",,only@example.com,,020 7946 0958,,,\n", encoding="utf-8")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({
        "First name": "first_name", "Last name": "last_name", "E-mail": "email",
        "Other e-mails": "emails_all", "Mobile": "phone_mobile", "Work phone": "phone_work",
        "Country": "country", "Company": "company"}), encoding="utf-8")

    summary, _ = run(str(path), org=org.slug, entity="contact", mapping=str(mapping))

    assert (summary["created"], summary["failed"]) == (4, 0)
    with in_org(org):
        entries = SearchEntry.unscoped.filter(entity="contacts").order_by("record_id")
        imported = list(entries.values_list("record_id", "title", "text"))
        search.reindex(Contact, [record_id for record_id, _, _ in imported])
        assert list(entries.values_list("record_id", "title", "text")) == imported
    assert imported[0][1:] == ("Siobhán O'Rourke", (
        "siobhan o rourke s orourke example ie shiv example com s example org "
        "353851234567 0851234567 851234567 35312345678 012345678 12345678"))


def test_columns_no_field_is_named_after_are_listed_as_not_imported(
    org, admin, tmp_path, api_client_for, client_for
):
    path = tmp_path / "people.csv"
    path.write_text("First name,E-mail,Tier,Remark\nAda,ada@example.com,Gold,Met at fair\n",
                    encoding="utf-8")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"First name": "first_name", "E-mail": "email",
                                   "Remark": ""}), encoding="utf-8")

    guessed, warned = run(str(path), org=org.slug, entity="contact")
    chosen, quiet = run(str(path), org=org.slug, entity="contact", mapping=str(mapping),
                        duplicates="skip")
    answer = api_client_for(admin).get(f"/api/v1/imports/{guessed['import_id']}").json()
    page = client_for(admin).get(f"/imports/{guessed['import_id']}/").content.decode()

    assert guessed["unmapped"] == ["Tier", "Remark"]
    assert "Not imported, as no field has their name: Tier, Remark." in warned
    # A mapping given on purpose leaves out only what it means to.
    assert chosen["unmapped"] == []
    assert "Not imported" not in quiet
    assert answer["unmapped"] == ["Tier", "Remark"]
    assert "Not imported, as no field has their name: Tier, Remark" in page


def test_a_file_with_no_mapped_column_is_refused(org, admin, tmp_path, in_org):
    path = tmp_path / "tiers.csv"
    path.write_text("Tier,Remark\nGold,Met at fair\n", encoding="utf-8")

    with pytest.raises(CommandError, match=r"mapping: No column of the file fills a field "
                                           r"\(its headers: Tier, Remark\)"):
        run(str(path), org=org.slug, entity="contact")
    with in_org(org):
        assert ImportJob.objects.count() == 0


def test_a_file_with_only_a_header_row_is_refused(org, admin, tmp_path, in_org):
    path = tmp_path / "people.csv"
    path.write_text("First name,Last name,Email\n", encoding="utf-8")

    with pytest.raises(CommandError, match="file: The file has no rows below its header, so "
                                           "there is nothing to import."):
        run(str(path), org=org.slug, entity="contact")
    with in_org(org):
        assert ImportJob.objects.count() == 0
