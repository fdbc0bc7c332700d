"""E-mail templates with merge fields, made by the campaigns service."""

from accord.marketing import campaigns
from accord.marketing.models import Campaign, EmailTemplate
from accord.marketing.sequence_models import Sequence

from . import Block, register


def _campaigns(template: EmailTemplate) -> int:
    return Campaign.objects.filter(template=template).count()


def _sequences(template: EmailTemplate) -> int:
    return sum(1 for steps in Sequence.objects.values_list("steps", flat=True)
               if any(step.get("template") == template.pk for step in steps))


class EmailTemplates(Block):
    section = "email_templates"
    label = "E-mail templates"
    order = 50

    def check(self, item, path, problems):
        problems.only(item, path, {"name", "subject", "html"})
        problems.text(item, "name", path, limit=120)
        problems.text(item, "subject", path, limit=200)
        problems.text(item, "html", path, limit=100_000)

    def key(self, item):
        return str(item.get("name", "")).strip().lower()

    def describe(self, item):
        return f"{item.get('name')}: “{item.get('subject')}”"

    def existing(self, ctx, item):
        return EmailTemplate.objects.filter(name__iexact=item["name"].strip()).first()

    def create(self, ctx, item):
        return campaigns.create_template(ctx.org, ctx.actor, data={
            "name": item["name"], "subject": item["subject"], "html": item["html"]})

    def find(self, ctx, key, object_id):
        return EmailTemplate.objects.filter(pk=object_id).first()

    def holds_data(self, ctx, obj):
        count = _campaigns(obj)
        return f"{count} campaign(s) use it" if count else ""

    def blocked(self, ctx, obj):
        if _campaigns(obj):
            return "campaigns use it; delete them first"
        if _sequences(obj):
            return "sequences send it; change or delete them first"
        return ""

    def delete(self, ctx, obj, *, delete_data, changed):
        campaigns.delete_template(ctx.org, ctx.actor, obj)
        return ""


register(EmailTemplates())
