"""The import wizard, page by page, as a user goes through it."""

from django.core.files.uploadedfile import SimpleUploadedFile

from accord.customers import services as customers
from accord.customers.models import Contact
from accord.identity import visibility
from accord.identity.models import Role
from accord.integrations import engine
from accord.integrations.models import ImportJob, ImportMapping


def upload(client, path, entity="contact"):
    return client.post("/imports/new/", {
        "file": SimpleUploadedFile(path.name, path.read_bytes()), "entity": entity})


def uploaded_job(client, org, in_org, path) -> ImportJob:
    """Upload the file of contacts at `path` on the wizard's first page; the job it made."""
    upload(client, path)
    with in_org(org):
        return ImportJob.objects.get()


def test_the_wizard_maps_previews_runs_and_undoes_an_import(org, admin, client_for, in_org,
                                                            case):
    client = client_for(admin)

    empty = client.get("/imports/")
    uploaded = upload(client, case("csv-windows-1252/contacts_cp1252.csv"))
    with in_org(org):
        job = ImportJob.objects.get()
    mapping_page = client.get(f"/imports/{job.pk}/map/")
    mapped = client.post(f"/imports/{job.pk}/map/", {
        "column_0": "first_name", "column_1": "last_name", "column_2": "company",
        "column_3": "city", "column_4": "", "date_order": "dmy", "number_style": "1.234,56",
        "mapping_name": "ERP export"})
    preview = client.get(f"/imports/{job.pk}/preview/")
    queued = client.post(f"/imports/{job.pk}/preview/", {"duplicate_policy": "skip",
                                                         "create_missing_links": "on"})
    with in_org(org):
        engine.run_job(org, admin.user, ImportJob.objects.get(pk=job.pk))
    detail = client.get(f"/imports/{job.pk}/")
    listed = client.get("/imports/")
    confirm = client.get(f"/imports/{job.pk}/undo/")
    undone = client.post(f"/imports/{job.pk}/undo/", follow=True)
    again = client.post(f"/imports/{job.pk}/undo/", follow=True)

    assert "No imports yet." in empty.text
    assert uploaded.status_code == 302
    assert uploaded["Location"] == f"/imports/{job.pk}/map/"
    assert 'value="cp1252" selected' in mapping_page.text
    assert "Özdemir" in mapping_page.text
    assert '<option value="first_name" selected>' in mapping_page.text
    assert mapped["Location"] == f"/imports/{job.pk}/preview/"
    assert "Of the first 4 rows: 4 look new, 0 match an existing record or an earlier row, 0 " \
           "are invalid." in preview.text
    assert "(not imported)" in preview.text
    assert queued["Location"] == f"/imports/{job.pk}/"
    assert "<dt>Rows created</dt><dd>4</dd>" in detail.text
    assert "Undo this import" in detail.text
    assert f'<a href="/imports/{job.pk}/">contacts_cp1252.csv</a>' in listed.text
    assert "<td>Contacts</td>" in listed.text
    assert "The 4 records this import created move to the trash" in confirm.text
    assert "Import undone: 4 records moved to the trash, 0 changes reverted." in undone.text
    assert "This import was already undone on " in again.text
    with in_org(org):
        assert ImportMapping.objects.get().mapping == {
            "first_name": "first_name", "last_name": "last_name", "company": "company",
            "city": "city"}
        assert Contact.objects.count() == 0


def test_preview_marks_each_invalid_cell_with_its_reason(org, admin, client_for, in_org,
                                                         tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("Email,Name,Birthday\nada@example.com,Ada Lovelace,31/02/1990\n"
                    "nope,Grace Hopper,09/12/1906\n")
    client = client_for(admin)
    job = uploaded_job(client, org, in_org, path)

    preview = client.get(f"/imports/{job.pk}/preview/")

    assert "Of the first 2 rows: 0 look new, 0 match an existing record or an earlier row, 2 " \
           "are invalid." in preview.text
    assert "Enter a valid e-mail address, such as name@example.com." in preview.text
    assert "<strong>31/02/1990</strong>" in preview.text


def test_the_progress_fragment_polls_while_the_job_runs(org, admin, client_for, in_org, case):
    client = client_for(admin)
    upload(client, case("csv-utf8-bom-header/contacts_bom.csv"))
    with in_org(org):
        job = ImportJob.objects.get()
        ImportJob.objects.filter(pk=job.pk).update(status="running", total_rows=3, rows_done=1)

    fragment = client.get(f"/imports/{job.pk}/", headers={"HX-Request": "true"})

    assert fragment.text.lstrip().startswith('<section id="import-progress"')
    assert 'hx-trigger="every 2s"' in fragment.text
    assert '<progress max="100" value="33"' in fragment.text
    assert "<html" not in fragment.text


def test_a_file_that_cannot_be_read_is_explained_on_the_upload_page(org, admin, client_for,
                                                                    tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" * 8)

    response = upload(client_for(admin), path)

    assert response.status_code == 422
    assert "save it as an .xlsx workbook" in response.text


def test_sales_members_may_not_import(org, make_member, client_for):
    client = client_for(make_member(org, Role.SALES))

    assert client.get("/imports/new/").status_code == 403
    assert client.get("/imports/").status_code == 200


def test_choosing_another_separator_reads_the_file_again(org, admin, client_for, in_org, case):
    client = client_for(admin)
    upload(client, case("csv-semicolon-decimal-comma/deals_de.csv"), entity="company")
    with in_org(org):
        job = ImportJob.objects.get()
    detected = client.get(f"/imports/{job.pk}/map/")

    reread = client.post(f"/imports/{job.pk}/map/", {"delimiter": ",", "reread": "1"},
                         follow=True)

    assert 'value=";" selected' in detected.text
    assert "Lieferung; Montage und Wartung" in detected.text
    assert '<option value="name" selected>' in detected.text
    assert 'value="," selected' in reread.text
    with in_org(org):
        assert ImportJob.objects.get().options["headers"] == [
            "Name;Firma;Betrag;Abschlussdatum;Phase;Beschreibung"]


def test_the_wizard_will_not_run_an_import_with_no_mapped_column(org, admin, client_for,
                                                                 in_org, tmp_path):
    client = client_for(admin)
    path = tmp_path / "tiers.csv"
    path.write_text("Tier,Remark\nGold,Met at fair\n", encoding="utf-8")
    job = uploaded_job(client, org, in_org, path)

    refused = client.post(f"/imports/{job.pk}/preview/", {"duplicate_policy": "skip"})
    unmapped = client.post(f"/imports/{job.pk}/map/", {
        "column_0": "", "column_1": "", "date_order": "dmy", "number_style": "1,234.56"})

    assert refused.status_code == 422
    assert "No column of the file fills a field (its headers: Tier, Remark)." in refused.text
    assert unmapped.status_code == 422
    assert "No column of the file fills a field (its headers: Tier, Remark)." in unmapped.text
    with in_org(org):
        assert ImportJob.objects.get().status == "uploaded"


def import_contacts(client, org, member, in_org, text: str, policy: str = "fill") -> ImportJob:
    client.post("/imports/new/", {
        "file": SimpleUploadedFile("people.csv", text.encode()), "entity": "contact"})
    with in_org(org):
        job = ImportJob.objects.latest("id")
    client.post(f"/imports/{job.pk}/preview/", {"duplicate_policy": policy})
    with in_org(org):
        return engine.run_job(org, member.user, ImportJob.objects.get(pk=job.pk))


def test_the_result_page_links_to_the_records_the_import_created_and_updated(
    org, admin, client_for, in_org
):
    with in_org(org):
        ann = customers.create_contact(org, admin.user, data={
            "first_name": "Ann", "last_name": "Old", "email": "ann@example.com"})
    client = client_for(admin)
    job = import_contacts(client, org, admin, in_org,
                          "First name,Last name,Email\r\n"
                          "Ann,Lee,ann@example.com\r\n"
                          "Bo,<Kim>,bo@example.com\r\n", policy="overwrite")
    with in_org(org):
        bo = Contact.objects.get(first_name="Bo")

    detail = client.get(f"/imports/{job.pk}/")

    assert "The contacts it created or updated" in detail.text
    assert (f'<li><a href="/contacts/{ann.pk}/">Ann Lee</a> '
            '<span class="muted small">updated</span></li>') in detail.text
    assert (f'<li><a href="/contacts/{bo.pk}/">Bo &lt;Kim&gt;</a> '
            '<span class="muted small">created</span></li>') in detail.text


def import_then_give_di_away(org, admin, make_member, client_for, in_org, rows: str):
    """A manager who sees their team's contacts imports `rows`; the contact Di is then
    given to the admin, out of their sight. (client, job, Di)."""
    seller = make_member(org, Role.MANAGER, full_name="Mo Manager")
    with in_org(org):
        visibility.update_visibility(org, admin.user, roles={Role.MANAGER: {"contacts": "team"}})
    client = client_for(seller)
    job = import_contacts(client, org, seller, in_org, "First name,Last name,Email\r\n" + rows)
    with in_org(org):
        di = Contact.objects.get(first_name="Di")
        customers.update_contact(org, admin.user, di, data={"owner": admin.user.pk})
    return client, job, di


def test_the_result_page_links_to_the_list_of_every_record_the_import_created_or_updated(
    org, admin, client_for, in_org
):
    client = client_for(admin)
    job = import_contacts(client, org, admin, in_org,
                          "First name,Last name,Email\r\n" + "".join(
                              f"Person,{number},p{number}@example.com\r\n"
                              for number in range(25)))

    detail = client.get(f"/imports/{job.pk}/")
    listed = client.get(f"/contacts/?import_id={job.pk}&limit=100")

    assert (f'<p><a href="/contacts/?import_id={job.pk}">All 25 created or updated '
            'contacts</a></p>') in detail.text
    assert listed.text.count('<td><a href="/contacts/') == 25


def test_the_result_page_lists_and_counts_only_the_imported_records_the_reader_may_see(
    org, admin, make_member, client_for, in_org
):
    client, job, di = import_then_give_di_away(
        org, admin, make_member, client_for, in_org,
        "Cy,Kept,cy@example.com\r\nDi,Given,di@example.com\r\nEd,Kept,ed@example.com\r\n")

    detail = client.get(f"/imports/{job.pk}/")

    assert ">Cy Kept</a>" in detail.text
    assert "Di Given" not in detail.text
    assert f"/contacts/{di.pk}/" not in detail.text
    assert (f'<a href="/contacts/?import_id={job.pk}">All 2 created or updated '
            'contacts</a>') in detail.text


def test_the_result_page_of_a_company_import_links_to_the_company_list(
    org, admin, client_for, in_org
):
    client = client_for(admin)
    client.post("/imports/new/", {"file": SimpleUploadedFile("firms.csv", b"Name\r\nAcme\r\n"),
                                  "entity": "company"})
    with in_org(org):
        job = ImportJob.objects.latest("id")
    client.post(f"/imports/{job.pk}/preview/", {"duplicate_policy": "fill"})
    with in_org(org):
        engine.run_job(org, admin.user, ImportJob.objects.get(pk=job.pk))

    detail = client.get(f"/imports/{job.pk}/")

    assert (f'<a href="/companies/?import_id={job.pk}">The created or updated '
            'company</a>') in detail.text


def preview_without_new_companies(client, org, in_org, text: str):
    """Upload `text`, untick "Create companies…" and show the preview again."""
    client.post("/imports/new/", {
        "file": SimpleUploadedFile("people.csv", text.encode()), "entity": "contact"})
    with in_org(org):
        job = ImportJob.objects.latest("id")
    rechecked = client.post(f"/imports/{job.pk}/preview/", {"duplicate_policy": "fill",
                                                            "recheck": ""})
    assert rechecked["Location"] == f"/imports/{job.pk}/preview/"
    return job, client.get(f"/imports/{job.pk}/preview/")


NO_COMPANY = ("No company with this name or domain exists; allow creating missing "
              "companies, or add it first.")


def test_preview_fails_a_row_naming_a_missing_company_as_the_run_will(
    org, admin, client_for, in_org
):
    client = client_for(admin)
    job, preview = preview_without_new_companies(
        client, org, in_org, "First name,Last name,Email,Company\r\n"
                             "Ann,Lee,ann@example.com,Nonexistent Co\r\n")
    client.post(f"/imports/{job.pk}/preview/", {"duplicate_policy": "fill"})
    with in_org(org):
        job = engine.run_job(org, admin.user, ImportJob.objects.get(pk=job.pk))
    detail = client.get(f"/imports/{job.pk}/")

    assert "<strong>Nonexistent Co</strong><br><span class=\"small\">" + NO_COMPANY in \
        preview.text
    assert "0 look new" in preview.text
    assert 'name="create_missing_links"' in preview.text
    assert 'name="create_missing_links" checked' not in preview.text
    assert job.failed_count == 1
    assert NO_COMPANY in detail.text


def test_preview_fails_a_row_naming_a_company_hidden_from_the_importer(
    org, admin, make_member, client_for, in_org
):
    manager = make_member(org, Role.MANAGER, full_name="Mo Manager")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with in_org(org):
        customers.create_company(org, outsider.user, data={"name": "Brightwater"})
        customers.create_company(org, manager.user, data={"name": "Eastside"})
        visibility.update_visibility(org, admin.user, roles={Role.MANAGER: {
            "contacts": "team", "companies": "team"}})

    _job, preview = preview_without_new_companies(
        client_for(manager), org, in_org, "First name,Last name,Email,Company\r\n"
                                          "Ann,Lee,ann@example.com,Brightwater\r\n"
                                          "Bo,Kim,bo@example.com,Eastside\r\n")

    assert "<strong>Brightwater</strong><br><span class=\"small\">" + NO_COMPANY in \
        preview.text
    assert "Eastside</td>" in preview.text
    assert "1 looks new" in preview.text


def test_a_file_with_only_a_header_row_is_not_offered_a_run(org, admin, client_for, in_org):
    client = client_for(admin)
    client.post("/imports/new/", {
        "file": SimpleUploadedFile("people.csv", b"First name,Last name,Email\r\n"),
        "entity": "contact"})
    with in_org(org):
        job = ImportJob.objects.get()

    preview = client.get(f"/imports/{job.pk}/preview/")
    posted = client.post(f"/imports/{job.pk}/preview/", {"duplicate_policy": "fill"})

    assert "The file has no rows below its header, so there is nothing to import." in \
        preview.text
    assert "Of the first" not in preview.text
    assert "Run the import" not in preview.text
    assert posted.status_code == 422
    with in_org(org):
        assert ImportJob.objects.get().status == "uploaded"


def test_the_preview_counts_one_row_in_the_singular(org, admin, client_for, in_org, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("Email,Name\nnope,Grace Hopper\n")
    client = client_for(admin)
    job = uploaded_job(client, org, in_org, path)

    preview = client.get(f"/imports/{job.pk}/preview/")

    assert "Of the first 1 row: 0 look new, 0 match an existing record or an earlier row, 1 " \
           "is invalid." in preview.text


def test_undo_counts_a_record_two_rows_changed_once(org, admin, client_for, in_org):
    with in_org(org):
        customers.create_contact(org, admin.user, data={
            "first_name": "Ann", "last_name": "Old", "email": "ann@example.com"})
    client = client_for(admin)
    job = import_contacts(client, org, admin, in_org,
                          "First name,Last name,Email\r\n"
                          "Ann,Lee,ann@example.com\r\n"
                          "Ann,Lee-Smith,ann@example.com\r\n", policy="overwrite")

    detail = client.get(f"/imports/{job.pk}/")
    confirm = client.get(f"/imports/{job.pk}/undo/")

    assert job.updated_count == 2
    assert "<dt>Rows updated</dt><dd>2</dd>" in detail.text
    assert "0 records created, 1 record that was here changed: some rows repeat a record." \
        in detail.text
    assert "The 1 record it changed gets its old values back" in confirm.text
    assert "this import created" not in confirm.text
