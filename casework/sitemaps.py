"""sitemap.xml (an index) and one sitemap per kind of public page, paginated by Django."""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from casework import public


class CaseSitemap(Sitemap):
    limit = 10000

    def items(self):
        return public.cases().order_by("reference")

    def lastmod(self, case):
        return case.published_at


class StatementSitemap(Sitemap):
    limit = 10000

    def items(self):
        return public.statements().order_by("reference")

    def lastmod(self, statement):
        return statement.published_at


class PersonSitemap(Sitemap):
    limit = 10000

    def items(self):
        return public.people().order_by("pk")


class OrganisationSitemap(Sitemap):
    limit = 10000

    def items(self):
        return public.organisations().order_by("pk")


class PageSitemap(Sitemap):
    def items(self):
        return ["casework:home", "casework:case_list", "casework:statement_list",
                "casework:about"]

    def location(self, name):
        return reverse(name)


SITEMAPS = {
    "pages": PageSitemap,
    "cases": CaseSitemap,
    "statements": StatementSitemap,
    "people": PersonSitemap,
    "organisations": OrganisationSitemap,
}
