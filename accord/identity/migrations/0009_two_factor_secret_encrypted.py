from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('identity', '0008_existing_tokens_full_access'),
    ]

    operations = [
        migrations.RenameField(
            model_name='twofactordevice',
            old_name='secret',
            new_name='encrypted_secret',
        ),
        migrations.AlterField(
            model_name='twofactordevice',
            name='encrypted_secret',
            field=models.TextField(help_text='Encrypted with accord.crypto.'),
        ),
    ]
