"""Public views: everything here reads through `published()` querysets only."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from casework.models import Case, Organisation, Person, Statement


def home(request: HttpRequest) -> HttpResponse:
    latest = Case.objects.published().order_by("-published_at")[:10]
    return render(request, "casework/home.html", {"latest": latest})


def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_object_or_404(Case.objects.published(), reference=reference)
    return render(request, "casework/case_detail.html", {"case": case})


def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(Person.objects.published(), pk=pk)
    return render(request, "casework/person_detail.html", {"person": person})


def organisation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = get_object_or_404(Organisation.objects.published(), pk=pk)
    return render(request, "casework/organisation_detail.html", {"organisation": organisation})


def statement_detail(request: HttpRequest, reference: str) -> HttpResponse:
    statement = get_object_or_404(Statement.objects.published(), reference=reference)
    return render(request, "casework/statement_detail.html", {"statement": statement})
