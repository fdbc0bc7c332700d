from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('identity', '0006_visibility_policy'),
    ]

    operations = [
        migrations.AddField(
            model_name='apitoken',
            name='scopes',
            field=models.JSONField(default=list, verbose_name='scopes'),
        ),
        migrations.AddField(
            model_name='apitoken',
            name='expires_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='expires at'),
        ),
    ]
