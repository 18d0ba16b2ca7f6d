"""A review's visits and its findings against the standards (one-way review programmes)."""

urlpatterns: list = []
