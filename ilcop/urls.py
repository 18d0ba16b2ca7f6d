from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path, register_converter

from . import views, views_privacy
from .converters import PrimaryKeyConverter

# <pk:...> in every app's URLs.
register_converter(PrimaryKeyConverter, "pk")

# Django's admin has its own sign-in form, which would check the password alone: staff sign in
# through allauth like everyone else, so the second step and the failed-attempt limits apply
# (allauth's documented way to protect the admin).
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", include("programmes.urls")),
    path("", include("visits.urls")),
    path("", include("qips.urls")),
    path("accounts/reminders/", views.email_preferences, name="email_preferences"),
    # A person's data on request and anonymising on leaving (ilcop.privacy, docs/privacy.md).
    path("accounts/your-data.json", views_privacy.your_data, name="your_data"),
    path("people/<pk:pk>/data.json", views_privacy.person_data, name="person_data"),
    path("people/<pk:pk>/anonymise/", views_privacy.person_anonymise, name="person_anonymise"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
