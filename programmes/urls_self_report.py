"""Standards, indicators, self-reports and regional hubs (one-way review programmes)."""

urlpatterns: list = []
