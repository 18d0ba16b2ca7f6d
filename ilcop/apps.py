from django.apps import AppConfig


class IlcopConfig(AppConfig):
    name = "ilcop"
    verbose_name = "Accounts and activity"
