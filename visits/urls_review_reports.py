"""A review's report: distribution, delivery, visibility, publication (one-way review programmes)."""

urlpatterns: list = []
