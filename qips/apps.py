from django.apps import AppConfig


class QipsConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'qips'
