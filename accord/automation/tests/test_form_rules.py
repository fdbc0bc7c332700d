"""Rules on a web form's event run for the contact who sent the form."""

from django.test import Client

from accord.automation.models import RuleRun
from accord.automation.tasks import start_run
from accord.core.models import DomainEvent
from accord.customers.models import Contact, ContactTag
from accord.marketing import webforms


def test_a_form_submitted_rule_tags_the_contact_who_sent_the_form(org, admin, in_org,
                                                                  make_rule):
    rule = make_rule(org, trigger="event", settings={"event_type": "form.submitted"},
                     actions=[{"type": "add_tag", "tag": "asked-for-demo"}])
    with in_org(org):
        form = webforms.create_form(org, admin.user, data={
            "name": "Demo request",
            "fields": [{"name": "first_name", "required": True},
                       {"name": "email", "required": True}]})

    sent = Client().post(f"/f/{form.public_key}", {"first_name": "Ada",
                                                   "email": "ada@example.net"})
    with in_org(org):
        event = DomainEvent.objects.get(type="form.submitted")
    status = start_run(rule.pk, event.pk)

    with in_org(org):
        contact = Contact.objects.get(emails__address="ada@example.net")
        run = RuleRun.objects.get(rule=rule)
        tags = list(ContactTag.objects.filter(contact=contact)
                    .values_list("tag__name", flat=True))
    assert sent.status_code in (200, 302)
    assert status == "done"
    assert (run.entity, run.object_id) == ("contact", contact.pk)
    assert tags == ["asked-for-demo"]
