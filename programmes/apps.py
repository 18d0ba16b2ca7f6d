from django.apps import AppConfig


class ProgrammesConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'programmes'

    def ready(self):
        # Registers the sites, enrolments and pairs exports (ilcop.exports), and the receiver
        # that keeps Site.team_last_active_at as the activity log is written (signals).
        from . import exports, privacy, signals  # noqa: F401

        # This app's part of a person's data export and anonymising (ilcop.privacy).
        privacy.register()
