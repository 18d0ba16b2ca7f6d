import uuid

from django.db import migrations, models


def give_each_programme_its_own(apps, schema_editor):
    # AddField gives every existing row the same value; each should start as new ones do.
    Programme = apps.get_model("programmes", "Programme")
    programmes = list(Programme.objects.only("pk"))
    for programme in programmes:
        programme.plans_version = uuid.uuid4()
    Programme.objects.bulk_update(programmes, ["plans_version"], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("programmes", "0010_site_team_last_active"),
    ]

    operations = [
        migrations.AddField(
            model_name="programme",
            name="plans_version",
            field=models.UUIDField(default=uuid.uuid4, editable=False),
        ),
        migrations.RunPython(give_each_programme_its_own, migrations.RunPython.noop,
                             elidable=True),
    ]
