"""Public full-text search over cases.

Every case carries a `search_document`: its *public* text (title, summary, location,
country, the public names and aliases of its published people, its published
organisations, the speakers of its published statements, violation and right labels),
put through `normalise()`. The same function is applied to every query, so that
`Muiznieks` finds Muižnieks, `ismailova` finds Ismayilova and `Mammadov` finds Məmmədov.

On PostgreSQL a trigger (migration 0003_search) keeps `search_vector`, a weighted
tsvector of that document, and GIN indexes serve websearch-syntax queries and trigram
"close matches". On SQLite (the local demo) the same normalised document is matched with
LIKE: same syntax, no ranking, no close matches.

The document only ever holds text that is public: it is rebuilt from published records
whenever a case, a person, an organisation, a statement, a label or a link changes
(receivers at the bottom of this module, connected in CaseworkConfig.ready()).
"""

import contextlib
import contextvars
import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db import connection
from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.db.transaction import TransactionManagementError
from django.dispatch import receiver

from casework.bulk import update_records
from casework.models import (
    Case,
    Involvement,
    Organisation,
    Person,
    Right,
    Statement,
    Status,
    ViolationType,
)

SEARCH_CONFIG = "english"

# Letters that Unicode decomposition does not reduce to ASCII, and Turkic letters whose
# usual English spelling is two letters (Şahbaz = Shahbaz, Çingiz = Chingiz).
_LETTERS = str.maketrans({
    "ə": "a", "Ə": "a", "ı": "i", "ş": "sh", "Ş": "sh", "ç": "ch", "Ç": "ch",
    "ß": "ss", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "æ": "ae",
    "œ": "oe", "ð": "d", "þ": "th",
    # Cyrillic (Russian and Azerbaijani), as English-language reports spell it.
    "а": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "ҝ": "g", "д": "d", "е": "e",
    "ё": "e", "ә": "a", "ж": "zh", "з": "z", "и": "i", "й": "i", "ј": "y", "к": "k",
    "л": "l", "м": "m", "н": "n", "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s",
    "т": "t", "у": "u", "ү": "u", "ф": "f", "х": "kh", "һ": "h", "ц": "ts", "ч": "ch",
    "ҹ": "j", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "і": "i", "ї": "i", "є": "ye", "ґ": "g",
})
# Transliteration variants: Ismayilova / Ismailova, Aliyev / Aliev, Məmmədov / Mammadov.
# ("-ying" is left alone so that English stemming still works: spraying -> spray.)
_VARIANTS = [(re.compile(r"(?<=[a-z])y(?=i(?!ng))|(?<=i)y(?=[aeou])"), "")]
_SPACES = re.compile(r"\s+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


@functools.lru_cache(maxsize=4096)
def _fold(run: str) -> str:
    run = unicodedata.normalize("NFKD", run.translate(_LETTERS))
    return "".join(c for c in run if not unicodedata.combining(c))


def _ascii_run(match: re.Match) -> str:
    return _fold(match.group())


def normalise(text: str) -> str:
    """Lower-case ASCII-ish text in which common spelling variants coincide.

    Applied to stored documents and to queries alike. Keeps the characters that carry
    web-search syntax (quotes, minus, spaces).
    """
    text = _NON_ASCII.sub(_ascii_run, (text or "").lower())
    for pattern, replacement in _VARIANTS:
        text = pattern.sub(replacement, text)
    return _SPACES.sub(" ", text).strip()


# Azerbaijani (and Turkish) names are spelt in English with c as j, x as kh and q as g
# (Cəfərov = Jafarov, Xədicə = Khadija, Qasımov = Gasimov, Hacıyev = Hajiyev). Those
# letters are English letters too, so a name gets that spelling as well only when it is
# written with a letter only these languages use.
_AZERBAIJANI_LETTERS = re.compile("[əƏıİğĞ]")
_ENGLISH_SPELLING = str.maketrans({"c": "j", "C": "J", "x": "kh", "X": "Kh", "q": "g",
                                   "Q": "G", "ğ": "g", "Ğ": "G"})


def english_spelling(name: str) -> str | None:
    """The usual English spelling of an Azerbaijani name, or None for other names."""
    if not _AZERBAIJANI_LETTERS.search(name or ""):
        return None
    return name.translate(_ENGLISH_SPELLING)


# ---------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------


def build_document(*, title: str, names: Iterable[str], other: Iterable[str]) -> str:
    """Three lines, weighted A (title), B (names), D (the rest) by the PostgreSQL trigger.
    Names written in Azerbaijani come with their English spelling."""
    names = [n for n in names if n]
    names += [spelling for spelling in map(english_spelling, names) if spelling]
    return "\n".join([
        normalise(title),
        normalise(" ".join(dict.fromkeys(names))),
        normalise(" ".join(o for o in other if o)),
    ])


def _published_involvements():
    return Involvement.objects.published_parties().select_related("person", "organisation")


def _published_statements():
    return Statement.objects.published().select_related("speaker", "organisation")


def case_document(case: Case) -> str:
    """The public text of a case; expects the prefetches of `refresh_search_documents`."""
    names: list[str] = []
    for involvement in case.public_involvements:
        if involvement.person_id:
            names += [involvement.person.public_name, *involvement.person.public_aliases]
        else:
            names += [involvement.organisation.name, *involvement.organisation.alias_list]
    for statement in case.public_statements:
        speaker = statement.speaker
        if speaker is not None and speaker.status == "published":
            names += [speaker.public_name, *speaker.public_aliases]
        organisation = statement.organisation
        if organisation is not None and organisation.status == "published":
            names += [organisation.name, *organisation.alias_list]
    other = [case.reference, case.summary, case.location,
             case.country.name if case.country else ""]
    other += [v.label for v in case.violations.all()] + [r.label for r in case.rights.all()]
    return build_document(title=case.title, names=names, other=other)


def case_facet_keys(case: Case) -> dict[str, int]:
    """The "filter:value" keys of a case for the public filters and facet counts (a JSON
    object used as a set); expects the prefetches of `refresh_search_documents`.

    Defender types come from published people only, as everything public does.
    """
    keys = [f"country:{case.country.code}" if case.country else "", f"status:{case.situation}"]
    keys += [f"right:{right.slug}" for right in case.rights.all()]
    keys += [f"violation:{violation.slug}" for violation in case.violations.all()]
    keys += [f"role:{involvement.person.defender_type}" for involvement in case.public_involvements
             if involvement.person_id and involvement.role in Involvement.DEFENDER_ROLES
             and involvement.person.defender_type]
    return {key: 1 for key in sorted(keys) if key}


# The cases waiting for refresh_later() to refresh them; None outside such a block.
_pending_refresh: contextvars.ContextVar[set[int] | None] = contextvars.ContextVar(
    "pending_search_refresh", default=None)


@contextlib.contextmanager
def refresh_later() -> Iterator[None]:
    """Within the block, refresh_search_documents only notes the cases; the block's end
    refreshes each of them once, in batches. For writers that change many cases in one
    transaction (an import that updates existing cases refreshed each case three or
    four times, more than the rest of its work). If the block raises, nothing is
    refreshed, so the block must run inside the transaction that the error rolls back."""
    if not connection.in_atomic_block:
        raise TransactionManagementError("refresh_later() runs inside a transaction")
    if _pending_refresh.get() is not None:  # within an outer block, which refreshes
        yield
        return
    pending: set[int] = set()
    token = _pending_refresh.set(pending)
    try:
        yield
    finally:
        _pending_refresh.reset(token)
    refresh_search_documents(pending)


def refresh_search_documents(case_ids: Iterable[int], batch_size: int = 1000) -> None:
    """Rebuild the documents and facet keys of these cases from their published relations
    (at the end of the enclosing refresh_later() block, if there is one). Only published
    cases: nothing reads the others' documents, and publishing rebuilds them."""
    case_ids = {pk for pk in case_ids if pk}
    pending = _pending_refresh.get()
    if pending is not None:
        pending.update(case_ids)
        return
    case_ids = sorted(case_ids)
    for start in range(0, len(case_ids), batch_size):
        cases = Case.objects.filter(pk__in=case_ids[start:start + batch_size],
                                    status=Status.PUBLISHED).prefetch_related(
            "violations", "rights",
            Prefetch("involvements", queryset=_published_involvements(),
                     to_attr="public_involvements"),
            Prefetch("statements", queryset=_published_statements(), to_attr="public_statements"),
        ).only("id", "reference", "title", "summary", "location", "country", "situation",
               "search_document", "facet_keys")
        documents, keys = [], []
        for case in cases:
            document, facet_keys = case_document(case), case_facet_keys(case)
            if document != case.search_document:
                documents.append(case)
            elif facet_keys != case.facet_keys:
                keys.append(case)  # (setting search_document re-runs the vector's trigger)
            case.search_document, case.facet_keys = document, facet_keys
        if documents:
            update_records(Case, documents, ["search_document", "facet_keys"])
        if keys:
            update_records(Case, keys, ["facet_keys"])


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------


@dataclass
class ParsedQuery:
    """A web-search query: OR-groups of required and excluded terms or phrases."""

    groups: list[tuple[list[str], list[str]]]

    @property
    def positive_text(self) -> str:
        return " ".join(t for required, _excluded in self.groups for t in required)


_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def parse_query(text: str) -> ParsedQuery:
    """The subset of websearch_to_tsquery syntax the SQLite path needs."""
    groups: list[tuple[list[str], list[str]]] = [([], [])]
    for match in _TOKEN.finditer(normalise(text)):
        minus, phrase, word = match.groups()
        if word == "or":
            groups.append(([], []))
            continue
        if phrase is not None:
            term, negative = phrase.strip(), bool(minus)
        else:
            negative = word.startswith("-") and len(word) > 1
            term = word.lstrip("-") if negative else word
        term = term.strip(".,;:!?()[]")
        if term:
            groups[-1][1 if negative else 0].append(_SPACES.sub(" ", term))
    return ParsedQuery([g for g in groups if g[0] or g[1]])


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


# pg_trgm's default (0.6) misses one-letter slips in short names (Ismaylova for Ismailova).
CLOSE_MATCH_THRESHOLD = "0.5"


def _set_close_match_threshold() -> None:
    """The %> operator reads its threshold from the session; the GIN index needs the operator."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', %s, false)",
                       [CLOSE_MATCH_THRESHOLD])


def has_terms(text: str) -> bool:
    """Whether a query has something to look for: a word, on PostgreSQL one that is not a
    stop word ("the", "or" and punctuation alone have none)."""
    text = (text or "").strip()
    if not text:
        return False
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT numnode(websearch_to_tsquery(%s::regconfig, %s)) > 0",
                           [SEARCH_CONFIG, normalise(text)])
            return cursor.fetchone()[0]
    return any(required or excluded for required, excluded in parse_query(text).groups)


def _websearch(text: str) -> SearchQuery:
    return SearchQuery(normalise(text), search_type="websearch", config=SEARCH_CONFIG)


def ranked(queryset: QuerySet, text: str) -> QuerySet:
    """`queryset` annotated with the `rank` of `text` (PostgreSQL's ts_rank), without
    filtering: for cases already known to match it (the search index's)."""
    return queryset.annotate(rank=SearchRank(F("search_vector"), _websearch(text)))


def search_cases(queryset: QuerySet, text: str, *, close: bool = False) -> QuerySet:
    """Cases of `queryset` matching `text`, annotated with `rank` (higher is better).

    close=True: near-miss spellings by trigram word similarity (PostgreSQL only).
    """
    text = (text or "").strip()
    if not text:
        return queryset
    if is_postgres():
        if close:
            parsed = parse_query(text)
            words = parsed.positive_text
            if not words:
                return queryset.none()
            _set_close_match_threshold()
            queryset = queryset.filter(search_document__trigram_word_similar=words)
            for _required, excluded in parsed.groups:
                for term in excluded:  # "-word" still excludes among close matches
                    queryset = queryset.exclude(search_vector=SearchQuery(
                        term, search_type="phrase", config=SEARCH_CONFIG))
            return queryset.annotate(rank=TrigramWordSimilarity(words, "search_document"))
        return ranked(queryset.filter(search_vector=_websearch(text)), text)
    if close:
        return queryset.none()
    parsed = parse_query(text)
    if not parsed.groups:
        return queryset.none()
    condition = Q(pk__in=[])
    for required, excluded in parsed.groups:
        group = Q()
        for term in required:
            group &= Q(search_document__contains=term)
        for term in excluded:
            group &= ~Q(search_document__contains=term)
        condition |= group
    return queryset.filter(condition)


# ---------------------------------------------------------------------------
# Keeping documents up to date
# ---------------------------------------------------------------------------


def _cases_of_person(person_id: int) -> set[int]:
    return set(Involvement.objects.filter(person_id=person_id).values_list("case_id", flat=True)) | set(
        Statement.cases.through.objects.filter(statement__speaker_id=person_id)
        .values_list("case_id", flat=True))


def _cases_of_organisation(organisation_id: int) -> set[int]:
    return set(Involvement.objects.filter(organisation_id=organisation_id)
               .values_list("case_id", flat=True)) | set(
        Statement.cases.through.objects.filter(statement__organisation_id=organisation_id)
        .values_list("case_id", flat=True))


def _cases_of_statement(statement_id: int) -> set[int]:
    return set(Statement.cases.through.objects.filter(statement_id=statement_id)
               .values_list("case_id", flat=True))


# A case's own status does not change its document or keys (search reads published()
# anyway), but publishing rebuilds them: cases created in bulk (imports) have none yet.
_CASE_DOCUMENT_FIELDS = {"reference", "title", "summary", "location", "country", "situation",
                         "search_document", "facet_keys"}


@receiver(post_save, sender=Case)
def _case_saved(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    if update_fields is not None and not set(update_fields) & _CASE_DOCUMENT_FIELDS and not (
        "status" in update_fields and instance.status == Status.PUBLISHED
    ):
        return
    refresh_search_documents([instance.pk])


def _unpublished_before_and_after(record) -> bool:
    """In review or verified now: it was not published before either (see TRANSITIONS)."""
    return record.status in (Status.IN_REVIEW, Status.VERIFIED)


@receiver(post_save, sender=Person)
def _person_saved(sender, instance, raw=False, **kwargs):
    if not raw and not _unpublished_before_and_after(instance):
        refresh_search_documents(_cases_of_person(instance.pk))


@receiver(post_save, sender=Organisation)
def _organisation_saved(sender, instance, raw=False, **kwargs):
    if not raw and not _unpublished_before_and_after(instance):
        refresh_search_documents(_cases_of_organisation(instance.pk))


@receiver(post_save, sender=Statement)
def _statement_saved(sender, instance, raw=False, **kwargs):
    if not raw and not _unpublished_before_and_after(instance):
        refresh_search_documents(_cases_of_statement(instance.pk))


@receiver(pre_delete, sender=Statement)
def _statement_deleting(sender, instance, **kwargs):
    instance._search_case_ids = _cases_of_statement(instance.pk)


@receiver(post_delete, sender=Statement)
def _statement_deleted(sender, instance, **kwargs):
    refresh_search_documents(getattr(instance, "_search_case_ids", ()))


@receiver(post_save, sender=Involvement)
@receiver(post_delete, sender=Involvement)
def _involvement_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        refresh_search_documents([instance.case_id])


@receiver(post_save, sender=ViolationType)
@receiver(post_save, sender=Right)
def _label_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        refresh_search_documents(instance.cases.values_list("pk", flat=True))


@receiver(m2m_changed, sender=Case.violations.through)
@receiver(m2m_changed, sender=Case.rights.through)
def _case_labels_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action == "pre_clear" and reverse:
        instance._search_case_ids = set(instance.cases.values_list("pk", flat=True))
    elif action in ("post_add", "post_remove"):
        refresh_search_documents(pk_set if reverse else [instance.pk])
    elif action == "post_clear":
        refresh_search_documents(
            getattr(instance, "_search_case_ids", ()) if reverse else [instance.pk])


@receiver(m2m_changed, sender=Statement.cases.through)
def _statement_cases_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action == "pre_clear":
        instance._search_case_ids = (
            {instance.pk} if reverse else set(instance.cases.values_list("pk", flat=True)))
    elif action in ("post_add", "post_remove"):
        refresh_search_documents([instance.pk] if reverse else pk_set)
    elif action == "post_clear":
        refresh_search_documents(getattr(instance, "_search_case_ids", ()))
