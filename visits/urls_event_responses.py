from django.urls import path

from . import views_event_responses as views

urlpatterns = [
    path("events/<pk:pk>/reply/", views.event_reply, name="event_reply"),
    path("events/<pk:pk>/replies/", views.event_replies, name="event_replies"),
    path("events/<pk:pk>/replies/counts/", views.event_reply_counts,
         name="event_reply_counts"),
    path("events/<pk:pk>/attendance/", views.event_attendance, name="event_attendance"),
    path("events/<pk:pk>/materials/add/", views.event_material_add, name="event_material_add"),
    path("events/<pk:pk>/materials/<pk:material_pk>/", views.event_material_download,
         name="event_material_download"),
    path("events/<pk:pk>/materials/<pk:material_pk>/remove/", views.event_material_remove,
         name="event_material_remove"),
]
