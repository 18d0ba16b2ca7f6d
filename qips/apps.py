from django.apps import AppConfig


class QipsConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'qips'

    def ready(self):
        # See visits.apps: how the Monday digest drops a held reminder that no longer applies.
        # Importing exports registers the plan exports (ilcop.exports), and signals the
        # receiver that replaces a plan's content_version as its log is written.
        from . import exports, reminders, signals  # noqa: F401

        reminders.register_digest_checks()
        # This app's part of a person's data export and anonymising (ilcop.privacy).
        from . import privacy

        privacy.register()
