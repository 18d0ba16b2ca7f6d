from django.apps import AppConfig


class IlcopConfig(AppConfig):
    name = "ilcop"
    verbose_name = "Accounts and activity"

    def ready(self) -> None:
        # Connects the sign-in receivers: the two-step setup rule and the session clocks.
        from . import mfa, security  # noqa: F401
