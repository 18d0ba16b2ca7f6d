from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_created_at(apps, schema_editor):
    """Give every existing scope its entry's created_at (see ActivityScope.created_at)."""
    ActivityLog = apps.get_model("ilcop", "ActivityLog")
    ActivityScope = apps.get_model("ilcop", "ActivityScope")
    db = schema_editor.connection.alias
    ActivityScope.objects.using(db).update(created_at=Subquery(
        ActivityLog.objects.using(db).filter(pk=OuterRef("entry_id")).values("created_at")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ("ilcop", "0004_outbox_task"),
    ]

    operations = [
        migrations.AddField(
            model_name="activityscope",
            name="created_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(copy_created_at, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="activityscope",
            name="created_at",
            field=models.DateTimeField(),
        ),
        migrations.AddIndex(
            model_name="activityscope",
            index=models.Index(fields=["content_type", "object_id", "created_at", "entry"],
                               name="activity_scope_timeline"),
        ),
    ]
