import uuid

from django.db import migrations, models


def give_each_plan_its_own(apps, schema_editor):
    # AddField gives every existing row the same value; each should start as new ones do.
    Plan = apps.get_model("qips", "QualityImprovementPlan")
    plans = list(Plan.objects.only("pk"))
    for plan in plans:
        plan.content_version = uuid.uuid4()
    Plan.objects.bulk_update(plans, ["content_version"], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("qips", "0005_measure_data_version"),
    ]

    operations = [
        migrations.AddField(
            model_name="qualityimprovementplan",
            name="content_version",
            field=models.UUIDField(default=uuid.uuid4, editable=False),
        ),
        migrations.RunPython(give_each_plan_its_own, migrations.RunPython.noop,
                             elidable=True),
    ]
