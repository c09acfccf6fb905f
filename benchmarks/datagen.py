"""The one data generator shared by every benchmark.

Realistic-looking cases: Azerbaijani names with ə ı ğ ş ç ö ü, Cyrillic names, the
English transliterations reports use; partial dates ("2016", "May 2016", "25 October
2016"); several people and violations per case. Deterministic for a given seed.

Two entry points:

- `case_rows(n, seed=0)` yields dicts of `casework.exchange.CASE_COLUMNS`, the CSV
  exchange format, for import benchmarks (write them with `csv_lines`).
- `populate(n, batch_size=...)` inserts n *published* cases with their people,
  organisations, involvements, violations, rights and search documents straight into the
  database (PostgreSQL COPY, or bulk_create on SQLite), for search and export benchmarks.
  The records skip the review workflow and history: they are benchmark data.
"""

import datetime
import importlib
import random
from collections.abc import Iterator

from django_countries import countries
from psycopg.types.json import Jsonb

from casework.dates import Precision, iso_partial_date

# -- vocabularies -----------------------------------------------------------------

AZ_MALE = ["Rəşad", "Elçin", "Tofiq", "İlqar", "Əli", "Rauf", "Emin", "Anar", "Ceyhun", "Vüqar",
           "Şahin", "Qiyas", "Bəxtiyar", "Səbuhi", "Orxan", "Tural", "Fuad", "Ilkin", "Natiq",
           "Xalid", "Ağaverdi", "Mübariz", "Cəmil", "Nurlan", "Elnur"]
AZ_FEMALE = ["Xədicə", "Leyla", "Aynur", "Günel", "Səadət", "Nərgiz", "Aytən", "Şəbnəm",
             "Gülnarə", "Ülviyyə", "Nigar", "Könül", "Arzu", "İradə", "Çiçək", "Sevinc"]
AZ_SURNAMES = ["Məmmədov", "Əliyev", "Hüseynov", "Həsənov", "Quliyev", "İsmayılov", "Bağırov",
               "Cəfərov", "Rüstəmov", "Kərimov", "Əhmədov", "Qasımov", "Səfərov", "Nəsirov",
               "Şükürov", "Ağayev", "Abbasov", "Yusifov", "Musayev", "Əsgərov", "İbrahimov",
               "Çələbiyev", "Göyüşov", "Sadıqov", "Orucov", "Hacıyev"]
# How English-language reports often spell the same names.
TRANSLITERATIONS = {"Məmmədov": "Mammadov", "Əliyev": "Aliyev", "Hüseynov": "Huseynov",
                    "Həsənov": "Hasanov", "Quliyev": "Guliyev", "İsmayılov": "Ismayilov",
                    "Bağırov": "Bagirov", "Cəfərov": "Jafarov", "Əsgərov": "Asgarov",
                    "Şükürov": "Shukurov", "Qasımov": "Gasimov", "Hacıyev": "Hajiyev"}
CYRILLIC = ["Иван Петров", "Ольга Смирнова", "Тимур Мамедов", "Алия Исмаилова",
            "Сергей Кузнецов", "Дмитрий Алиев", "Анна Гусейнова", "Руслан Гасанов",
            "Наталья Волкова", "Игорь Соколов", "Эльдар Керимов", "Марина Орлова"]
OTHER_NAMES = ["Nils Muižnieks", "Dunja Mijatović", "Ana Kovačević", "Gevorg Hakobyan",
               "Nino Beridze", "Giorgi Kapanadze", "Ayşe Yılmaz", "Mehmet Çelik",
               "Lusine Grigoryan", "Tamar Lomidze", "Ülkər Zeynalova"]
ORGANISATIONS = [
    ("Baku Court of Grave Crimes", "court", "AZ"), ("Baku Court of Appeal", "court", "AZ"),
    ("Sumqayıt City Court", "court", "AZ"), ("Prosecutor-General's Office", "prosecution", "AZ"),
    ("Ministry of Internal Affairs", "police", "AZ"), ("State Security Service", "police", "AZ"),
    ("Azerbaijan Bar Association", "bar_association", "AZ"), ("Ministry of Justice", "government", "AZ"),
    ("Yerevan Police Department", "police", "AM"), ("Tbilisi City Court", "court", "GE"),
    ("Басманный районный суд", "court", "RU"), ("Главное управление МВД", "police", "RU"),
    ("Minsk City Court", "court", "BY"), ("Almaty Prosecutor's Office", "prosecution", "KZ"),
    ("Istanbul Heavy Penal Court", "court", "TR"), ("National Television Company", "media", "AZ"),
    ("Unknown assailants", "other", ""), ("Pro-government media outlets", "media", "AZ"),
]
COUNTRIES = ["AZ"] * 10 + ["AM", "GE", "RU", "BY", "KZ", "TR", "UZ", "TJ", "UA"]
LOCATIONS = {"AZ": ["Baku", "Gəncə", "Sumqayıt", "Lənkəran", "Şəki", "Naxçıvan", "Quba",
                    "Mingəçevir", "Şirvan", "Qəbələ"],
             "AM": ["Yerevan", "Gyumri"], "GE": ["Tbilisi", "Batumi", "Kutaisi"],
             "RU": ["Москва", "Санкт-Петербург", "Kazan"], "BY": ["Minsk", "Гомель"],
             "KZ": ["Almaty", "Astana"], "TR": ["İstanbul", "Ankara"], "UZ": ["Tashkent"],
             "TJ": ["Dushanbe"], "UA": ["Kyiv", "Kharkiv"]}
VIOLATIONS = ["arbitrary-detention", "imprisonment", "judicial-harassment", "disbarment",
              "ill-treatment", "cyber-attack", "smear-campaign", "censorship", "restrictive-law",
              "travel-ban", "funding-restriction", "intimidation", "surveillance",
              "physical-attack", "killing", "enforced-disappearance", "protest-disruption"]
RIGHTS = ["expression", "association", "peaceful-assembly"]
DEFENDER_TYPES = [("journalist", "Investigative journalist"), ("lawyer", "Human rights lawyer"),
                  ("youth_activist", "Youth activist"), ("cso_member", "CSO member"),
                  ("human_rights_defender", "Human rights defender"), ("blogger", "Blogger"),
                  ("artist", "Musician"), ("politician", "Opposition politician")]
EVENTS = [
    ("arbitrary-detention", "detained after {topic}", "was detained by police after {topic}."),
    ("imprisonment", "sentenced to {years} years", "received a {years}-year prison sentence on "
     "charges widely seen as retaliation for {topic}."),
    ("judicial-harassment", "charged with hooliganism", "faces criminal charges of hooliganism "
     "and tax evasion after {topic}."),
    ("disbarment", "disbarred", "was disbarred by the bar association after {topic}."),
    ("ill-treatment", "ill-treated in custody", "reported being beaten in custody after {topic}."),
    ("cyber-attack", "targeted by hackers", "had social media accounts hacked after {topic}."),
    ("smear-campaign", "targeted by a smear campaign", "was the target of a smear campaign on "
     "television after {topic}."),
    ("censorship", "website blocked", "saw an independent news website blocked after {topic}."),
    ("travel-ban", "banned from leaving the country", "was stopped at the airport and banned "
     "from travel after {topic}."),
    ("funding-restriction", "organisation's accounts frozen", "had the bank accounts of their "
     "organisation frozen after {topic}."),
    ("intimidation", "threatened", "received threats against their family after {topic}."),
    ("surveillance", "placed under surveillance", "found spyware on their phone after {topic}."),
    ("physical-attack", "attacked in the street", "was attacked by unknown men after {topic}."),
    ("protest-disruption", "arrested at a protest", "was arrested at a peaceful protest "
     "against {topic}."),
]
TOPICS = ["reporting on corruption", "criticising the president", "spraying graffiti on a "
          "statue", "defending political prisoners", "organising a peaceful assembly",
          "publishing an investigation into public procurement", "meeting foreign diplomats",
          "writing about election fraud", "posting a satirical video", "representing a "
          "jailed journalist", "a protest against demolitions", "documenting torture in prisons"]
SOURCES = ["https://www.example.org/reports/{n}", "https://news.example.net/az/{n}",
           "https://rights.example.com/cases/{n}"]


# -- one case ---------------------------------------------------------------------


def _partial_date(rng: random.Random, start_year: int = 2005, end_year: int = 2026):
    day = datetime.date(start_year, 1, 1) + datetime.timedelta(
        days=rng.randrange((datetime.date(end_year, 12, 31) - datetime.date(start_year, 1, 1)).days))
    precision = rng.choices([Precision.DAY, Precision.MONTH, Precision.YEAR], [5, 3, 2])[0]
    if precision == Precision.MONTH:
        day = day.replace(day=1)
    elif precision == Precision.YEAR:
        day = day.replace(month=1, day=1)
    return day, precision


def person_name(rng: random.Random) -> tuple[str, str]:
    """A name and, sometimes, another spelling of it (one per line)."""
    roll = rng.random()
    if roll < 0.7:
        female = rng.random() < 0.4
        first = rng.choice(AZ_FEMALE if female else AZ_MALE)
        surname = rng.choice(AZ_SURNAMES)
        if female:
            surname += "a"
        name = f"{first} {surname}"
        base = surname.rstrip("a")
        if base in TRANSLITERATIONS and rng.random() < 0.5:
            other = TRANSLITERATIONS[base] + ("a" if female else "")
            return name, f"{first} {other}"
        return name, ""
    if roll < 0.85:
        return rng.choice(CYRILLIC), ""
    return rng.choice(OTHER_NAMES), ""


def make_case(i: int, rng: random.Random) -> dict:
    """Everything about case number i, in plain values."""
    country = rng.choice(COUNTRIES)
    started, started_precision = _partial_date(rng)
    ended, ended_precision = None, ""
    if rng.random() < 0.3:
        ended, ended_precision = _partial_date(rng, started.year, min(started.year + 3, 2026))
        if ended < started:
            ended, ended_precision = None, ""
    events = rng.sample(EVENTS, rng.randint(1, 3))
    violations = sorted({slug for slug, _t, _s in events} | (
        {rng.choice(VIOLATIONS)} if rng.random() < 0.3 else set()))
    rights = sorted(set(rng.sample(RIGHTS, rng.choice([1, 1, 1, 2, 3]))))
    topic = rng.choice(TOPICS)
    years = rng.randint(2, 12)
    defenders = [(*person_name(rng), rng.choice(DEFENDER_TYPES))
                 for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    lawyers = [(*person_name(rng), DEFENDER_TYPES[1]) for _ in range(rng.choice([0, 0, 1]))]
    perpetrators = rng.sample(ORGANISATIONS, rng.choice([1, 1, 2]))
    lead_name, _other, (_type, occupation) = defenders[0]
    title = f"{occupation} {lead_name} {events[0][1].format(topic=topic, years=years)}"
    sentences = [f"{occupation} {lead_name} {event[2].format(topic=topic, years=years)}"
                 for event in events]
    if len(defenders) > 1:
        sentences.append(f"{len(defenders) - 1} other defenders were targeted with them.")
    sentences.append(rng.choice(["Their lawyer says the charges are fabricated.",
                                 "International organisations called for their release.",
                                 "The authorities deny any link to their work.",
                                 "The case is pending before the European Court of Human Rights."]))
    return {
        "reference": f"BM-{started.year}-{i:07d}",
        "title": title[:300],
        "summary": " ".join(sentences),
        "country": country,
        "location": rng.choice(LOCATIONS[country]) if rng.random() < 0.8 else "",
        "started_on": started, "started_on_precision": started_precision,
        "ended_on": ended, "ended_on_precision": ended_precision,
        "situation": "concluded" if ended else rng.choice(["ongoing", "ongoing", "concluded"]),
        "violations": violations, "rights": rights,
        "defenders": defenders, "lawyers": lawyers, "perpetrators": perpetrators,
        "sources": [rng.choice(SOURCES).format(n=i * 3 + k) for k in range(rng.randint(1, 2))],
    }


def case_rows(n: int, seed: int = 0) -> Iterator[dict[str, str]]:
    """n cases as rows of the CSV exchange format (casework.exchange.CASE_COLUMNS)."""
    rng = random.Random(seed)
    for i in range(1, n + 1):
        case = make_case(i, rng)
        yield {
            "reference": case["reference"], "title": case["title"], "country": case["country"],
            "location": case["location"],
            "started_on": iso_partial_date(case["started_on"], case["started_on_precision"]),
            "ended_on": iso_partial_date(case["ended_on"], case["ended_on_precision"]),
            "violations": "; ".join(case["violations"]), "rights": "; ".join(case["rights"]),
            "defenders": "; ".join(name for name, _o, _t in case["defenders"]),
            "lawyers": "; ".join(name for name, _o, _t in case["lawyers"]),
            "perpetrators": "; ".join(name for name, _k, _c in case["perpetrators"]),
            "summary": case["summary"], "sources": "; ".join(case["sources"]),
        }


# -- straight into the database -----------------------------------------------------


def _copy(connection, model, fields: list[str], rows) -> None:
    """PostgreSQL COPY of tuples in `fields` order (attnames) into model's table."""
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(f).column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608
            for row in rows:
                copy.write_row([Jsonb(v) if isinstance(v, dict) else v for v in row])


def _insert(connection, model, fields: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy(connection, model, fields, rows)
    else:
        model.objects.bulk_create([model(**dict(zip(fields, row, strict=True))) for row in rows],
                                  batch_size=500)


def _next_id(model) -> int:
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def _search_indexes():
    """The search and facet index statements of migrations 0003 and 0004 (dropped while
    loading, rebuilt after)."""
    create, drop = [], []
    for name in ("0003_search", "0004_facet_keys"):
        migration = importlib.import_module(f"casework.migrations.{name}")
        create += [s.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ")
                   for s in migration.POSTGRES_UP if "CREATE INDEX" in s]
        drop += [s for s in migration.POSTGRES_DOWN if "DROP INDEX" in s]
    return create, drop


def _facet_keys(data: dict) -> dict[str, int]:
    """What casework.search.case_facet_keys gives for these (all published) records."""
    keys = [f"country:{data['country']}", f"status:{data['situation']}",
            *(f"right:{slug}" for slug in data["rights"]),
            *(f"violation:{slug}" for slug in data["violations"]),
            *(f"role:{defender_type}" for _n, _o, (defender_type, _occupation)
              in data["defenders"] + data["lawyers"])]
    return {key: 1 for key in sorted(keys)}


def populate(n: int, batch_size: int = 20000, seed: int = 0, progress=None) -> dict[str, int]:
    """Insert n published cases (and their people, organisations, links) quickly."""
    from django.db import connection, transaction
    from django.utils import timezone

    from casework.models import (
        Case,
        Involvement,
        Organisation,
        Person,
        Right,
        Status,
        ViolationType,
    )
    from casework.search import build_document

    rng = random.Random(seed)
    now = timezone.now()
    reviewable = {"status": Status.PUBLISHED, "version": 1, "review_note": "",
                  "created_at": now, "updated_at": now, "verified_at": now, "published_at": now}
    violation_ids = dict(ViolationType.objects.values_list("slug", "pk"))
    violation_labels = dict(ViolationType.objects.values_list("slug", "label"))
    right_ids = dict(Right.objects.values_list("slug", "pk"))
    right_labels = dict(Right.objects.values_list("slug", "label"))
    postgres = connection.vendor == "postgresql"
    create_indexes, drop_indexes = _search_indexes()

    if postgres:  # Building GIN indexes once is much faster than updating them per row.
        with connection.cursor() as cursor:
            for statement in drop_indexes:
                cursor.execute(statement)
    # Organisations: one published record per name.
    org_fields = ["id", *reviewable, "name", "other_names", "kind", "country", "internal_notes"]
    org_ids, org_rows = {}, []
    next_org = _next_id(Organisation)
    for name, kind, country in ORGANISATIONS:
        org_ids[name] = next_org
        org_rows.append((next_org, *reviewable.values(), name, "", kind, country, ""))
        next_org += 1
    with transaction.atomic():
        _insert(connection, Organisation, org_fields, org_rows)

    person_fields = ["id", *reviewable, "name", "other_names", "identity_public", "pseudonym",
                     "gender", "occupation", "defender_type", "country", "contact_details",
                     "internal_notes"]
    case_fields = ["id", *reviewable, "reference", "title", "summary", "internal_notes",
                   "country", "location", "started_on", "started_on_precision", "ended_on",
                   "ended_on_precision", "situation", "restricted", "search_document",
                   "facet_keys"]
    involvement_fields = ["case_id", "person_id", "organisation_id", "role", "description",
                          "started_on_precision", "ended_on_precision"]
    next_case, next_person = _next_id(Case), _next_id(Person)
    counts = {"cases": 0, "people": 0, "involvements": 0}
    for start in range(1, n + 1, batch_size):
        cases, people, involvements, violations, rights = [], [], [], [], []
        for _i in range(start, min(start + batch_size, n + 1)):
            case_id = next_case  # numbers references too: populate() may run again
            data = make_case(case_id, rng)
            next_case += 1
            names = []
            for role, group in (("targeted", data["defenders"]), ("lawyer", data["lawyers"])):
                for name, other_names, (defender_type, occupation) in group:
                    identity_public = rng.random() < 0.85
                    pseudonym = "" if identity_public else f"Defender {next_person}"
                    people.append((next_person, *reviewable.values(), name, other_names,
                                   identity_public, pseudonym, "", occupation, defender_type,
                                   data["country"], "", ""))
                    involvements.append((case_id, next_person, None, role, "", "", ""))
                    names += [name, other_names] if identity_public else [pseudonym]
                    next_person += 1
            for name, _kind, _country in data["perpetrators"]:
                involvements.append((case_id, None, org_ids[name], "perpetrator", "", "", ""))
                names.append(name)
            labels = ([violation_labels[v] for v in data["violations"]]
                      + [right_labels[r] for r in data["rights"]])
            document = build_document(
                title=data["title"], names=names,
                other=[data["reference"], data["summary"], data["location"],
                       countries.name(data["country"]),
                       *labels])
            cases.append((case_id, *reviewable.values(), data["reference"], data["title"],
                           data["summary"], "", data["country"], data["location"],
                           data["started_on"], data["started_on_precision"], data["ended_on"],
                           data["ended_on_precision"], data["situation"], False, document,
                          _facet_keys(data)))
            violations += [(case_id, violation_ids[v]) for v in data["violations"]]
            rights += [(case_id, right_ids[r]) for r in data["rights"]]
        with transaction.atomic():
            _insert(connection, Case, case_fields, cases)
            _insert(connection, Person, person_fields, people)
            _insert(connection, Involvement, involvement_fields, involvements)
            _insert(connection, Case.violations.through, ["case_id", "violationtype_id"],
                    violations)
            _insert(connection, Case.rights.through, ["case_id", "right_id"], rights)
        counts["cases"] += len(cases)
        counts["people"] += len(people)
        counts["involvements"] += len(involvements)
        if progress:
            progress(counts["cases"])
    if postgres:
        with connection.cursor() as cursor:
            for model in (Case, Person, Organisation, Involvement):
                table = model._meta.db_table
                sql = f"SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608 (our table names)
                cursor.execute(sql, [table])
            # Inside an outer transaction (tests) deferred FK checks must run first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for statement in create_indexes:
                cursor.execute(statement)
            cursor.execute("ANALYZE")
    return counts
