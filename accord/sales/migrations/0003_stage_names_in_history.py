from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


def copy_stage_names(apps, schema_editor):
    """Moves recorded before the names were kept take them from stages still there."""
    stage_change = apps.get_model("sales", "StageChange")
    stage = apps.get_model("sales", "Stage")
    for field in ("from_stage", "to_stage"):
        name = stage._base_manager.filter(pk=OuterRef(f"{field}_id")).values("name")[:1]
        stage_change._base_manager.filter(**{f"{field}__isnull": False}).update(
            **{f"{field}_name": Coalesce(Subquery(name), Value(""))})


class Migration(migrations.Migration):

    dependencies = [
        ("sales", "0002_leads"),
    ]

    operations = [
        migrations.AddField(
            model_name="stagechange",
            name="from_stage_name",
            field=models.CharField(blank=True, max_length=120),
        ),
        migrations.AddField(
            model_name="stagechange",
            name="to_stage_name",
            field=models.CharField(blank=True, max_length=120),
        ),
        migrations.RunPython(copy_stage_names, migrations.RunPython.noop),
    ]
