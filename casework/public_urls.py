"""Public, published-only pages, open data, feed and sitemaps."""

from django.contrib.sitemaps import views as sitemap_views
from django.urls import path

from casework import views
from casework.feeds import LatestCasesFeed
from casework.sitemaps import SITEMAPS

app_name = "casework"

urlpatterns = [
    path("", views.home, name="home"),
    path("cases/", views.case_list, name="case_list"),
    path("cases.csv", views.cases_csv, name="cases_csv"),
    path("cases.json", views.cases_json, name="cases_json"),
    path("cases/<str:reference>/", views.case_detail, name="case"),
    path("people/<int:pk>/", views.person_detail, name="person"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation"),
    path("statements/", views.statement_list, name="statement_list"),
    path("statements/<str:reference>/", views.statement_detail, name="statement"),
    path("about/", views.about, name="about"),
    path("feed/", LatestCasesFeed(), name="feed"),
    path("sitemap.xml", sitemap_views.index,
         {"sitemaps": SITEMAPS, "sitemap_url_name": "casework:sitemap_section"}, name="sitemap"),
    path("sitemap-<section>.xml", sitemap_views.sitemap, {"sitemaps": SITEMAPS},
         name="sitemap_section"),
]
