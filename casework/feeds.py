"""Atom feed of newly published cases: published, public fields only."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse_lazy
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from casework import public

FEED_SIZE = 50


class LatestCasesFeed(Feed):
    feed_type = Atom1Feed
    title = _("Casework: newly published cases")
    subtitle = _("Reprisals against human rights defenders, as verified and published.")
    link = reverse_lazy("casework:case_list")
    author_name = settings.SITE_NAME  # RFC 4287: a feed or each entry names an author

    def items(self):
        return public.cases().order_by("-published_at", "-id")[:FEED_SIZE]

    def item_title(self, case):
        return f"{case.reference}: {case.title}"

    def item_description(self, case):
        return case.summary

    def item_link(self, case):
        # Also each entry's <id>: Django makes it absolute (Atom wants an absolute IRI),
        # and a case's URL is its permanent reference.
        return case.get_absolute_url()

    def item_pubdate(self, case):
        return case.published_at

    def item_updateddate(self, case):
        return case.published_at
