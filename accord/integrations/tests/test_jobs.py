"""Running, resuming, cancelling and undoing import jobs, through the services."""

import pytest

from accord.audit.models import AuditEntry
from accord.customers import services as customers
from accord.customers.models import Company, Contact
from accord.integrations import engine, services
from accord.integrations.models import ImportRow


def write_csv(tmp_path, rows, name="people.csv", header="email,first_name,last_name,title"):
    path = tmp_path / name
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def make_job(org, actor, path, **options):
    return services.create_job(org, actor, entity="contact", path=path, filename=path.name,
                               options=options)


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of exactly 100 rows, however slow the machine writes them."""
    monkeypatch.setattr(engine, "CHUNK", 100)
    monkeypatch.setattr(engine, "CHUNK_SECONDS", 3600)


@pytest.mark.parametrize(("rows", "seconds", "expected"), [
    (500, 0.25, 500),  # fast: as many as the most a chunk takes
    (500, 5.0, 50),  # ten times too slow: a tenth
    (10, 0.01, 20),  # fast after a small chunk: twice as many, not the most
    (3, 30.0, 1),  # very slow: one row at a time, never none
    (0, 0.0, 500),  # nothing written: start again from the most
])
def test_the_next_chunk_fits_the_time_a_chunk_should_take(rows, seconds, expected):
    assert engine.next_chunk_size(rows, seconds) == expected


def test_rows_slow_to_write_go_in_smaller_chunks(org, admin, in_org, tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "CHUNK", 100)
    monkeypatch.setattr(engine, "CHUNK_SECONDS", 1e-9)  # every chunk is too slow
    path = write_csv(tmp_path, [f"p{n}@example.com,P{n},Person," for n in range(104)])
    done = []

    with in_org(org):
        job = engine.run_job(org, admin.user, make_job(org, admin.user, path),
                             after_chunk=lambda job: done.append(job.rows_done))

        assert done == [100, 101, 102, 103, 104]
        assert (job.status, job.created_count, Contact.objects.count()) == ("done", 104, 104)


def test_a_job_killed_after_some_chunks_resumes_without_duplicates_or_losses(
    org, admin, in_org, tmp_path, small_chunks
):
    rows = [f"p{n}@example.com,P{n},Person,Tester" for n in range(450)]
    rows[300] = "p50@example.com,P50,Person,Lead tester"  # the same person again
    path = write_csv(tmp_path, rows)
    chunks = []

    def killed_after_two(job):
        chunks.append(job.rows_done)
        if len(chunks) == 2:
            raise engine.Interrupted

    with in_org(org):
        job = make_job(org, admin.user, path, duplicate_policy="overwrite")
        with pytest.raises(engine.Interrupted):
            engine.run_job(org, admin.user, job, after_chunk=killed_after_two)
        halfway = (Contact.objects.count(), ImportRow.objects.count(), job.status)
        job = engine.run_job(org, admin.user, services.get_job(admin, job.pk))

        assert chunks == [100, 200]
        assert halfway == (200, 200, "running")
        assert (job.status, job.created_count, job.updated_count, job.rows_done) == (
            "done", 449, 1, 450)
        assert Contact.objects.count() == 449
        assert Contact.objects.values("email").distinct().count() == 449
        assert Contact.objects.get(email="p50@example.com").title == "Lead tester"
        assert list(ImportRow.objects.filter(job=job).values_list("row", flat=True)) == list(
            range(2, 452))
        assert AuditEntry.objects.filter(entity="contact", action="create").count() == 449


def test_cancel_stops_between_chunks_and_keeps_what_was_committed(
    org, admin, in_org, tmp_path, small_chunks
):
    path = write_csv(tmp_path, [f"p{n}@example.com,P{n},Person," for n in range(350)])

    with in_org(org):
        job = make_job(org, admin.user, path)
        job.status = "running"
        job.save()

        def cancel_after_first(job):
            services.cancel_job(org, admin.user, job)

        job = engine.run_job(org, admin.user, job, after_chunk=cancel_after_first)

        assert (job.status, job.created_count, Contact.objects.count()) == ("cancelled", 100,
                                                                            100)


def test_rows_repeating_an_email_in_the_file_match_the_first_row(org, admin, in_org, tmp_path):
    path = write_csv(tmp_path, ["ada@example.com,Ada,,", "ADA@example.com,,Lovelace,Countess",
                                "ada@example.com,Augusta,King,"])

    with in_org(org):
        job = engine.run_job(org, admin.user, make_job(org, admin.user, path))
        contact = Contact.objects.get()

    assert (job.created_count, job.updated_count, job.skipped_count) == (1, 1, 1)
    assert (contact.first_name, contact.last_name, contact.title) == ("Ada", "Lovelace",
                                                                      "Countess")


def test_undo_removes_created_records_and_reverts_updates_unless_changed_since(
    org, admin, in_org, tmp_path
):
    with in_org(org):
        kept = customers.create_contact(org, admin.user, data={
            "email": "kept@example.com", "first_name": "Kept", "title": "Buyer"})
        edited = customers.create_contact(org, admin.user, data={
            "email": "edited@example.com", "first_name": "Edited", "title": "Buyer"})
    path = write_csv(tmp_path, ["kept@example.com,,,Head buyer", "edited@example.com,,,Owner",
                                "new@example.com,New,Person,"])

    with in_org(org):
        job = engine.run_job(org, admin.user,
                             make_job(org, admin.user, path, duplicate_policy="overwrite"))
        customers.update_contact(org, admin.user, Contact.objects.get(pk=edited.pk),
                                 data={"last_name": "Changed"})
        report = services.undo_job(org, admin.user, job)

        assert (job.created_count, job.updated_count) == (1, 2)
        assert report == {"removed": 1, "reverted": 1, "not_reverted": [{
            "row": 3, "record_id": edited.pk,
            "reason": "The record was changed after the import; its values were kept."}]}
        assert Contact.objects.get(pk=kept.pk).title == "Buyer"
        assert Contact.objects.get(pk=edited.pk).title == "Owner"
        assert not Contact.objects.filter(email="new@example.com").exists()
        assert Contact.with_deleted.filter(email="new@example.com").count() == 1
        assert services.get_job(admin, job.pk).status == "undone"


def test_undo_keeps_a_created_record_that_another_was_merged_into(org, admin, in_org,
                                                                 tmp_path):
    from accord.activities import services as timeline
    from accord.customers.merge import merge_contacts

    path = write_csv(tmp_path, ["aidan@example.com,Aidan,Farrell,", "lone@example.com,Lone,,",
                                "aidan@example.com,Aidan,Farrell,Buyer"])
    with in_org(org):
        job = engine.run_job(org, admin.user,
                             make_job(org, admin.user, path, duplicate_policy="overwrite"))
        imported = Contact.objects.get(email="aidan@example.com")
        typed = customers.create_contact(org, admin.user, data={
            "first_name": "A.", "last_name": "Farrel", "email": "a.farrel@example.com"})
        timeline.log_activity(org, admin.user, data={
            "kind": "note", "body": "Met at the fair", "contact": typed})
        merge_contacts(org, admin.user, imported, [typed])

        report = services.undo_job(org, admin.user, job)

        # The import's own second row changed Aidan too; only the merge
        # counts as a change since the import.
        assert report["removed"] == 1
        assert report["not_reverted"] == [{
            "row": 2, "record_id": imported.pk,
            "reason": "The record was changed after the import; it was kept."}]
        assert Contact.objects.filter(pk=imported.pk).exists()
        assert not Contact.objects.filter(email="lone@example.com").exists()
        assert imported.activities.filter(body="Met at the fair").exists()


def test_cells_escaped_by_an_export_come_back_as_they_were(org, admin, in_org, tmp_path):
    path = write_csv(tmp_path, ["x@example.com,'=1+2,'-10% agreed,'Plain",
                                "y@example.com,'@SUM(1+1),'+cmd,'-cmd"])

    with in_org(org):
        engine.run_job(org, admin.user, make_job(org, admin.user, path))
        rows = list(Contact.objects.order_by("email").values_list(
            "first_name", "last_name", "title"))

    assert rows == [("=1+2", "-10% agreed", "'Plain"), ("@SUM(1+1)", "+cmd", "-cmd")]


def test_a_mapping_saved_from_the_file_without_bom_applies_to_the_file_with_it(
    org, admin, in_org, case, tmp_path
):
    with_bom = case("csv-utf8-bom-header/contacts_bom.csv")
    without_bom = tmp_path / "contacts.csv"
    without_bom.write_bytes(with_bom.read_bytes()[3:])

    with in_org(org):
        plain = services.create_job(org, admin.user, entity="contact", path=without_bom)
        services.save_mapping(org, admin.user, entity="contact", name="Web shop",
                              headers=plain.options["headers"],
                              mapping={**plain.options["mapping"], "phone": "phone_work"})
        bom = services.create_job(org, admin.user, entity="contact", path=with_bom)

    assert plain.options["headers"] == bom.options["headers"] == [
        "email", "first_name", "last_name", "phone"]
    assert plain.options["mapping"] == {"email": "email", "first_name": "first_name",
                                        "last_name": "last_name", "phone": "phone"}
    assert bom.options["mapping"] == {"email": "email", "first_name": "first_name",
                                      "last_name": "last_name", "phone": "phone_work"}


def test_one_company_is_created_for_every_row_naming_it_and_undo_removes_it(
    org, admin, in_org, tmp_path
):
    path = write_csv(tmp_path, ["a@example.com,Ann,Ash,Kessler Antriebe AG",
                                "b@example.com,Bo,Birch,kessler antriebe ag",
                                "c@example.com,Cy,Cedar,Brandt & Co. KG"],
                     header="email,first_name,last_name,company")

    with in_org(org):
        job = engine.run_job(org, admin.user, make_job(org, admin.user, path))
        linked = sorted(Contact.objects.values_list("first_name", "company__name"))
        companies = Company.objects.count()
        services.undo_job(org, admin.user, job)

        assert linked == [("Ann", "Kessler Antriebe AG"), ("Bo", "Kessler Antriebe AG"),
                          ("Cy", "Brandt & Co. KG")]
        assert companies == 2
        assert (Contact.objects.count(), Company.objects.count()) == (0, 0)


def test_rows_find_the_companies_earlier_rows_made_by_the_name_or_domain_those_gave(
    org, admin, in_org, tmp_path
):
    path = write_csv(tmp_path, ["a@example.com,Ann,Kessler AG,kessler.example",
                                "b@example.com,Bo,,kessler.example",
                                "c@example.com,Cy,Brandt KG,",
                                "d@example.com,Di,,nobody.example",
                                "e@example.com,Ed,brandt kg,",
                                "h@example.com,Hy,,brandt.example",
                                "f@example.com,Fe,Brandt KG,brandt.example",
                                "g@example.com,Gu,,brandt.example"],
                     header="email,first_name,company,domain")
    mapping = {"email": "email", "first_name": "first_name", "company": "company",
               "domain": "company_domain"}

    with in_org(org):
        job = engine.run_job(org, admin.user, make_job(org, admin.user, path, mapping=mapping))
        linked = dict(Contact.objects.values_list("first_name", "company__name"))
        companies = dict(Company.objects.values_list("name", "pk"))
        created = dict(job.ledger.values_list("row", "links_created"))
        failed = [row[:2] for row in services.error_rows(job)]
        entries = AuditEntry.objects.filter(entity="company", action="create").count()

    assert linked == {"Ann": "Kessler AG", "Bo": "Kessler AG", "Cy": "Brandt KG",
                      "Ed": "Brandt KG", "Fe": "Brandt KG", "Gu": "Brandt KG"}
    # A domain is known once a row has named it: "Hy" comes before the row
    # that gives Brandt KG its domain.
    assert failed == [[5, "domain"], [7, "domain"]]
    assert created == {2: [{"entity": "company", "id": companies["Kessler AG"]}], 3: [],
                       4: [{"entity": "company", "id": companies["Brandt KG"]}], 5: [], 6: [],
                       7: [], 8: [], 9: []}
    assert entries == 2


def test_a_dry_run_counts_and_lists_problems_but_keeps_no_record(org, admin, in_org, tmp_path):
    path = write_csv(tmp_path, ["a@example.com,Ann,,", "nope,Bad,,", "c@example.com,Cy,,"])

    with in_org(org):
        job = engine.run_job(org, admin.user, make_job(org, admin.user, path, dry_run=True))

        assert (job.status, job.created_count, job.failed_count) == ("done", 2, 1)
        assert [row[:2] for row in services.error_rows(job)] == [[3, "email"]]
        assert Contact.objects.count() == 0
        assert AuditEntry.objects.filter(entity="contact").count() == 0


def test_rows_find_companies_again_by_their_id_in_another_system(org, admin, in_org, tmp_path):
    first = write_csv(tmp_path, ["C-001,Kessler Antriebe AG", "C-002,Brandt & Co. KG"],
                      name="v1.csv", header="Customer ID,Company Name")
    renamed = write_csv(tmp_path, ["C-001,Kessler Drives AG"], name="v2.csv",
                        header="Customer ID,Company Name")

    with in_org(org):
        engine.run_job(org, admin.user, services.create_job(
            org, admin.user, entity="company", path=first))
        again = engine.run_job(org, admin.user, services.create_job(
            org, admin.user, entity="company", path=renamed,
            options={"duplicate_policy": "overwrite"}))

        assert (again.created_count, again.updated_count) == (0, 1)
        assert sorted(Company.objects.values_list("name", flat=True)) == [
            "Brandt & Co. KG", "Kessler Drives AG"]
