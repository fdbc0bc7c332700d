import io
import json

from django.core.management import call_command

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
