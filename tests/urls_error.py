"""A URLconf with a view that fails, to test the 500 page."""

from django.urls import include, path


def boom(request):
    raise RuntimeError("secret-detail: database password in a stack frame")


urlpatterns = [path("boom/", boom), path("", include("casework.urls"))]
