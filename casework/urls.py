from django.contrib import admin
from django.urls import include, path

from casework.reports import admin_reports_view

urlpatterns = [
    path("admin/reports/", admin_reports_view, name="reports"),  # coordinators' reports
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("casework.public_urls")),
]
