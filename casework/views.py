"""Public views. Everything here reads through casework.public: published records only,
public fields only, related records re-filtered through their own published() queryset.
An unpublished or restricted record answers exactly like one that never existed.
"""

import json
from collections import defaultdict
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.db.models import F, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext
from django.views.decorators.http import require_safe
from django_countries import countries

from casework import charts, public, public_cache, search, search_index
from casework.exchange import case_csv, case_rows
from casework.filters import SORTS, CaseFilter, public_case_filter
from casework.models import Case, Involvement, Person, Right, Statement, ViolationType

PER_PAGE = 20
STATEMENTS_PER_PAGE = 20
CASES_PER_PAGE = 50  # on a person's or an organisation's page
STATEMENTS_ON_RECORD_PAGE = 10  # the latest, with a link to all of them


# Like a search engine (and Elasticsearch's default), the results count is exact up to
# 10,000 and "more than 10,000" beyond, and the list pages through the first 10,000
# (ranked by relevance among the first 10,000 found): the list of a broad search over a
# million cases then costs what a search of 10,000 does. Facet counts stay exact, and
# the CSV and JSON downloads have no ceiling.
RESULTS_LIMIT = 10_000


def _search(case_filter: CaseFilter, count: bool = False):
    """The matching cases, whether they are close matches rather than exact ones, and
    (count=True) how many there are, up to RESULTS_LIMIT + 1."""
    results = case_filter.filtered()
    if case_filter.query and search.is_postgres() and not results.exists():
        case_filter.close_matches = True
        results = case_filter.filtered()
    total = results.order_by()[:RESULTS_LIMIT + 1].count() if count else None
    return results, case_filter.close_matches, total


def published_facet_counts() -> dict[str, dict[str, int]]:
    """The facet counts of all published cases, as /cases/ shows them with no search:
    from the search index when it is current (milliseconds at a million cases), else
    counted once per public change (the cache entry that /cases/ uses)."""
    case_filter = public_case_filter(QueryDict())
    case_filter.is_valid()
    counts = search_index.facet_counts(case_filter)
    if counts is None:
        counts = public_cache.cached(f"facet_counts:{case_filter.counts_key}",
                                     case_filter.facet_counts)
    return counts


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    cases = public.cases()
    counts = published_facet_counts()
    # The same for every visitor, and seconds to count at a million cases.
    figures = public_cache.cached("home", lambda: {
        "totals": {
            "people": public.people().count(),
            "organisations": public.organisations().count(),
            "statements": public.statements().count(),
        },
        "per_month": charts.cases_per_month(cases),
    })
    context = {
        "latest": cases.order_by("-published_at", "-id")[:6],
        # Each case has exactly one "status:" facet key (search.case_facet_keys).
        "totals": {"cases": sum(counts["status"].values()), **figures["totals"]},
        "per_month": figures["per_month"],
        "by_right": charts.by_right(counts["right"]),
        "by_violation": charts.by_violation(counts["violation"]),
        "by_country": charts.by_country(counts["country"]),
    }
    return render(request, "casework/home.html", context)


def _facet_options(case_filter: CaseFilter, counts: dict[str, dict[str, int]]) -> list[dict]:
    data = case_filter.form.cleaned_data
    chosen = {
        "country": set(data.get("country") or []),
        "right": set(data.get("right") or []),
        "violation": set(data.get("violation") or []),
        "role": set(data.get("role") or []),
        "status": {data["status"]} if data.get("status") else set(),
    }
    titles = {"country": _("Country"), "right": _("Right"), "violation": _("Violation"),
              "role": _("Defender"), "status": _("Situation")}
    facets = []
    for name in CaseFilter.FACETS:
        if name == "country":
            codes = set(counts[name]) | chosen[name]
            options = sorted(((c, countries.name(c) or c) for c in codes if c),
                             key=lambda item: item[1])
        else:
            options = option_labels(name)
        rows = [{"value": value, "label": label, "count": counts[name].get(value, 0),
                 "checked": value in chosen[name]}
                for value, label in options
                if counts[name].get(value) or value in chosen[name] or name in ("right", "status")]
        facets.append({"name": name, "title": titles[name], "options": rows,
                       "radio": name == "status"})
    return facets


def _url_without(request: HttpRequest, name: str) -> str:
    """This search without one of its parameters, from its first page."""
    rest = request.GET.copy()
    rest.pop(name, None)
    rest.pop("page", None)
    return "?" + rest.urlencode()


# What each search parameter is called on the page (empty state, error messages).
PARAMETER_LABELS = {"q": _lazy("Search"), "country": _lazy("Country"), "right": _lazy("Right"),
                    "violation": _lazy("Violation"), "role": _lazy("Defender"),
                    "from": _lazy("From"), "to": _lazy("To"), "status": _lazy("Situation"),
                    "sort": _lazy("Sort by"), "page": _lazy("Page")}


def option_labels(name: str) -> list[tuple[str, str]]:
    """The values a search parameter takes, with their labels, in the order shown."""
    if name == "country":
        return list(countries)
    if name == "right":
        return [(r.slug, r.label) for r in Right.objects.order_by("label")]
    if name == "violation":
        return [(v.slug, v.label) for v in ViolationType.objects.order_by("label")]
    if name == "role":
        return [c for c in Person.DefenderType.choices if c[0]]
    if name == "status":
        return list(Case.Situation.choices)
    return []


def _active_filters(request: HttpRequest) -> list[dict]:
    """Each active parameter with the URL that drops it: the empty state's suggestions
    ("Remove Country: Georgia")."""
    active = []
    for name in ("q", "country", "right", "violation", "role", "from", "to", "status"):
        values = [v for v in request.GET.getlist(name) if v]
        if values:
            labels = {value: capfirst(label) for value, label in option_labels(name)}
            active.append({"name": name, "label": PARAMETER_LABELS[name],
                           "values": [labels.get(v, v) for v in values],
                           "url": _url_without(request, name)})
    return active


def _page_number(request: HttpRequest) -> tuple[int, list[str]]:
    """The page asked for (1 by default), and what is wrong with the parameter."""
    values = [value.strip() for value in request.GET.getlist("page") if value.strip()]
    if not values:
        return 1, []
    if len(values) > 1:
        return 1, [_("Give one page number.")]
    value = values[0]
    if not (value.isascii() and value.isdecimal() and len(value) <= 9) or int(value) < 1:
        shown = value if len(value) <= 20 else value[:20] + "…"
        return 1, [_("“%(value)s” is not a page number: use a whole number from 1.")
                   % {"value": shown}]
    return int(value), []


def _parameter_errors(request: HttpRequest, errors: dict) -> list[dict]:
    return [{"field": field, "label": PARAMETER_LABELS.get(field, field),
             "messages": messages, "without": _url_without(request, field)}
            for field, messages in errors.items()]


@require_safe
def case_list(request: HttpRequest) -> HttpResponse:
    case_filter = public_case_filter(request.GET)
    context = {"filter": case_filter, "sorts": SORTS.items()}
    number, page_errors = _page_number(request)
    if not case_filter.is_valid() or page_errors:
        errors = {**case_filter.form.errors, **({"page": page_errors} if page_errors else {})}
        context["errors"] = _parameter_errors(request, errors)
        return render(request, "casework/case_list.html", context, status=400)
    # The search index, when it is current, counts and finds the page's cases.
    indexed = search_index.answer(case_filter, number, PER_PAGE, RESULTS_LIMIT)
    if indexed is not None:
        close, total, page, counts = False, indexed.total, indexed.page, indexed.counts
    else:
        results, close, total = _search(case_filter, count=True)
        if total > RESULTS_LIMIT:
            results = case_filter.among_first(results, RESULTS_LIMIT)
        ordered = case_filter.ordered(results).prefetch_related(*public.case_list_prefetches())
        paginator = Paginator(ordered, PER_PAGE)
        paginator.count = min(total, RESULTS_LIMIT)  # counted once above (cached_property)
        page = paginator.get_page(number)
        counts = public_cache.cached(f"facet_counts:{case_filter.counts_key}",
                                     case_filter.facet_counts)
    if number > page.paginator.num_pages:  # a page past the last (results change)
        context["errors"] = _parameter_errors(request, {"page": [ngettext(
            "There is %(count)d page of results.", "There are %(count)d pages of results.",
            page.paginator.num_pages) % {"count": page.paginator.num_pages}]})
        return render(request, "casework/case_list.html", context, status=404)
    context.update({
        "page": page,
        "total": total,
        "more_than": RESULTS_LIMIT if total > RESULTS_LIMIT else None,
        "close_matches": close,
        "query": case_filter.query,
        "sort": case_filter.form.cleaned_data.get("sort")
        or ("relevance" if case_filter.query else "newest"),
        "facets": _facet_options(case_filter, counts),
        "indexed": indexed is not None,
        # The empty state's suggestions, in words (a query for some labels): only then.
        "active": _active_filters(request) if not total else [],
    })
    return render(request, "casework/case_list.html", context)


def _export_cases(request: HttpRequest):
    case_filter = public_case_filter(request.GET)
    if not case_filter.is_valid():
        return None, case_filter.form.errors
    results, _close, _total = _search(case_filter)
    # The one public queryset, for the one public serialiser (case_csv / case_rows).
    return Case.objects.published().filter(pk__in=results.order_by().values("pk")), None


def _bad_request(errors) -> HttpResponse:
    lines = [f"{field}: {message}" for field, messages in errors.items() for message in messages]
    return HttpResponse("\n".join(lines) + "\n", status=400,
                        content_type="text/plain; charset=utf-8")


@require_safe
def cases_csv(request: HttpRequest) -> HttpResponse:
    matching, errors = _export_cases(request)
    if errors:
        return _bad_request(errors)
    response = StreamingHttpResponse(case_csv(matching, public=True),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="cases.csv"'
    return response


def _json_lines(rows) -> Iterator[str]:
    yield "["
    for i, row in enumerate(rows):
        yield ("," if i else "") + "\n" + json.dumps(row, ensure_ascii=False)
    yield "\n]\n"


@require_safe
def cases_json(request: HttpRequest) -> HttpResponse:
    matching, errors = _export_cases(request)
    if errors:
        return _bad_request(errors)
    return StreamingHttpResponse(_json_lines(case_rows(matching, public=True)),
                                 content_type="application/json")


@require_safe
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    if reference != reference.upper():  # references are capitals: az-2016-001 is AZ-2016-001
        return redirect("casework:case", reference=reference.upper(), permanent=True)
    case = get_object_or_404(
        public.cases().prefetch_related(*public.case_detail_prefetches()), reference=reference)
    by_role: dict[str, list[Involvement]] = {}
    for involvement in case.public_involvements:
        by_role.setdefault(involvement.role, []).append(involvement)
    roles = [(label, by_role[value]) for value, label in Involvement.Role.choices
             if value in by_role]
    return render(request, "casework/case_detail.html", {"case": case, "roles": roles})


def _cases_of(request: HttpRequest, **party):
    """A page of the published cases a person or an organisation is in, newest first, each
    once with the roles it has there (`case.roles`: a lawyer who was also targeted is one
    case, not two)."""
    involved = Involvement.objects.filter(**party)
    page = Paginator(public.cases().filter(pk__in=involved.values("case"))
                     .order_by(F("started_on").desc(nulls_last=True), "reference", "id"),
                     CASES_PER_PAGE).get_page(request.GET.get("page"))
    roles = defaultdict(set)
    for case_id, role in involved.filter(case__in=[case.pk for case in page]).values_list(
            "case", "role"):
        roles[case_id].add(role)
    for case in page:  # in the order the roles are declared: targeted first
        case.roles = [role.label for role in Involvement.Role if role in roles[case.pk]]
    return page


@require_safe
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(public.people(), pk=pk)
    context = {
        "person": person,
        "cases": _cases_of(request, person=person),
        **_latest_statements(public.statements().filter(speaker=person)),
    }
    return render(request, "casework/person_detail.html", context)


@require_safe
def organisation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = get_object_or_404(public.organisations(), pk=pk)
    context = {
        "organisation": organisation,
        "cases": _cases_of(request, organisation=organisation),
        **_latest_statements(_statements_of(organisation)),
    }
    return render(request, "casework/organisation_detail.html", context)


def _statements_of(organisation):
    """Public statements the organisation made or signed."""
    return public.statements().filter(
        Q(organisation=organisation)
        | Q(pk__in=Statement.signatories.through.objects.filter(organisation=organisation)
            .values("statement"))
    )


def _latest_statements(statements) -> dict:
    """The latest statements for a person's or an organisation's page, and how many
    there are in all (the page links to the full list when there are more)."""
    return {
        "statements": statements.order_by(*public.STATEMENT_ORDER)[:STATEMENTS_ON_RECORD_PAGE],
        "statements_count": statements.count(),
    }


def _statement_prefetches() -> list:
    return [*public.statement_prefetches(),
            Prefetch("cases", queryset=public.cases().order_by("reference"),
                     to_attr="public_cases")]


@require_safe
def statement_list(request: HttpRequest) -> HttpResponse:
    """All public statements, or (?person=ID, ?organisation=ID) one speaker's or one
    organisation's, including those it signed. An unknown or unpublished person or
    organisation is a 404, as on their own page."""
    statements = public.statements()
    person = organisation = None
    chosen = [name for name in ("person", "organisation")
              for value in request.GET.getlist(name) if value.strip()]
    if len(chosen) > 1:
        return _bad_request({name: [_("Give one person or one organisation.")]
                             for name in dict.fromkeys(chosen)})
    if request.GET.get("person"):
        person = get_object_or_404(public.people(), pk=_record_id(request, "person"))
        statements = statements.filter(speaker=person)
    elif request.GET.get("organisation"):
        organisation = get_object_or_404(public.organisations(),
                                         pk=_record_id(request, "organisation"))
        statements = _statements_of(organisation)
    statements = statements.prefetch_related(*_statement_prefetches()).order_by(
        *public.STATEMENT_ORDER)
    page = Paginator(statements, STATEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "casework/statement_list.html",
                  {"page": page, "person": person, "organisation": organisation})


def _record_id(request: HttpRequest, parameter: str) -> int:
    value = request.GET.get(parameter, "")
    if not value.isascii() or not value.isdigit() or len(value) > 18:  # int() limits digits
        raise Http404
    return int(value)


@require_safe
def statement_detail(request: HttpRequest, reference: str) -> HttpResponse:
    if reference != reference.upper():
        return redirect("casework:statement", reference=reference.upper(), permanent=True)
    statement = get_object_or_404(
        public.statements().prefetch_related(
            *_statement_prefetches(),
            Prefetch("signatories", queryset=public.organisations().order_by("name"),
                     to_attr="public_signatories")),
        reference=reference)
    return render(request, "casework/statement_detail.html", {"statement": statement})


@require_safe
def about(request: HttpRequest) -> HttpResponse:
    context = {
        "rights": Right.objects.order_by("label"),
        "violations": ViolationType.objects.order_by("label"),
        "roles": Involvement.Role.choices,
    }
    return render(request, "casework/about.html", context)
