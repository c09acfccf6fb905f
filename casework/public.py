"""The public side's one door to the data: published records, explicit field lists.

Every public page, search, facet count, chart, download, feed and sitemap starts from
these functions. Related records are always re-filtered through their own published()
queryset, because related managers bypass it. Fields outside the lists are deferred,
so a template that reached for a confidential field would cost a query, which the
query-count tests catch, and the leak test catches what it would show.
"""

from django.db.models import F, Prefetch

from casework.models import (
    Case,
    Involvement,
    Organisation,
    Person,
    Source,
    Statement,
)

CASE_FIELDS = ("id", *Case.PUBLIC_FIELDS)
# A person's name is read only through public_name / public_aliases, which fall back to
# the pseudonym unless identity_public is set.
PERSON_FIELDS = ("id", *Person.PUBLIC_FIELDS, "identity_public", "pseudonym", "name",
                 "other_names", "status")
ORGANISATION_FIELDS = ("id", *Organisation.PUBLIC_FIELDS, "status")
SOURCE_FIELDS = ("id", *Source.PUBLIC_FIELDS)
STATEMENT_FIELDS = ("id", *Statement.PUBLIC_FIELDS, "speaker", "organisation", "source")
# Newest first and undated last, on every database (PostgreSQL puts NULLs first in a
# descending order, SQLite last).
STATEMENT_ORDER = (F("said_on").desc(nulls_last=True), "-id")


def cases():
    return Case.objects.published().only(*CASE_FIELDS)


def people():
    return Person.objects.published().only(*PERSON_FIELDS)


def organisations():
    return Organisation.objects.published().only(*ORGANISATION_FIELDS)


def sources():
    return Source.objects.published().only(*SOURCE_FIELDS)


def statements():
    return Statement.objects.published().only(*STATEMENT_FIELDS)


def involvements():
    """Involvements whose person or organisation is itself published."""
    return (
        Involvement.objects.published_parties()
        .select_related("person", "organisation")
        .only(*Involvement.PUBLIC_FIELDS, "id", "case", "person", "organisation",
              *(f"person__{f}" for f in PERSON_FIELDS),
              *(f"organisation__{f}" for f in ORGANISATION_FIELDS))
    )


def statement_prefetches() -> list:
    """Speaker, organisation and source of statements, each only when published."""
    return [
        Prefetch("speaker", queryset=people()),
        Prefetch("organisation", queryset=organisations()),
        Prefetch("source", queryset=sources()),
    ]


def case_list_prefetches() -> list:
    return [
        Prefetch("violations"),
        Prefetch("rights"),
        Prefetch("involvements", queryset=involvements().order_by("role", "id"),
                 to_attr="public_involvements"),
    ]


def case_detail_prefetches() -> list:
    return [
        *case_list_prefetches(),
        Prefetch("sources", queryset=sources().order_by("-published_on", "id"),
                 to_attr="public_sources"),
        Prefetch("statements", queryset=statements().prefetch_related(*statement_prefetches())
                 .order_by(*STATEMENT_ORDER), to_attr="public_statements"),
    ]
