from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "visits"
    verbose_name = "Visits"

    def ready(self):
        # Here rather than at import of the reminders module, so the web process (where a
        # digest may be sent), the worker and the tests all have the checks.
        # Importing exports registers the visit exports (ilcop.exports).
        from . import exports, reminders  # noqa: F401

        reminders.register_digest_checks()
        reminders.register_event_digest_checks()
        # This app's part of a person's data export and anonymising (ilcop.privacy).
        from . import privacy

        privacy.register()
