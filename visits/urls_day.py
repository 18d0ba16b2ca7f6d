"""URLs of the visit day (agenda, live mode, feedback, summary). See visits.views_day."""

urlpatterns: list = []
