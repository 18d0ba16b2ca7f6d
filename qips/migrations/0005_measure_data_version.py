import uuid

from django.db import migrations, models


def give_each_measure_its_own(apps, schema_editor):
    # AddField gives every existing row the same default; the charts' cache keys also hold
    # the measure's key, so that would be safe, but each measure should start as new ones do.
    Measure = apps.get_model("qips", "Measure")
    measures = list(Measure.objects.only("pk"))
    for measure in measures:
        measure.data_version = uuid.uuid4()
    Measure.objects.bulk_update(measures, ["data_version"], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("qips", "0004_action_plans"),
    ]

    operations = [
        migrations.AddField(
            model_name="measure",
            name="data_version",
            field=models.UUIDField(default=uuid.uuid4, editable=False),
        ),
        migrations.RunPython(give_each_measure_its_own, migrations.RunPython.noop,
                             elidable=True),
    ]
