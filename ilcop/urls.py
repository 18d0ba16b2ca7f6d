from django.contrib import admin
from django.urls import include, path, register_converter

from . import views
from .converters import PrimaryKeyConverter

# <pk:...> in every app's URLs.
register_converter(PrimaryKeyConverter, "pk")

urlpatterns = [
    path("", include("programmes.urls")),
    path("", include("visits.urls")),
    path("", include("qips.urls")),
    path("accounts/reminders/", views.email_preferences, name="email_preferences"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
