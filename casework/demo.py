"""The demo data: every case, person, lawyer, organisation and statement of the seed
article (shared/seed/azerbaijan-civic-space-update.txt), and one user per role.

Loading is idempotent: records are found by their natural key (reference, name, URL or
citation) and left alone when already there.
"""

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import User
from casework.dates import parse_partial_date
from casework.models import (
    Case,
    Involvement,
    Organisation,
    Person,
    Right,
    Source,
    Statement,
    Status,
    ViolationType,
)

# Local-only passwords, printed by `make run` and listed in README.md. load_demo refuses
# to run in production settings.
DEMO_USERS = {
    "researcher": ("Researcher", "researcher-demo-2016"),
    "verifier": ("Verifier", "verifier-demo-2016"),
    "coordinator": ("Coordinator", "coordinator-demo-2016"),
    "admin": ("Administrator", "admin-demo-2016"),
}

SEED_SOURCE = {
    "citation": "Systematic reprisals against dissidents in Azerbaijan (civic space update, "
                "December 2016)",
    "published_on": "2016-12",
    "reliability": Source.Reliability.B,
}

ORGANISATIONS = [
    # name, kind, country, other names
    ("Council of Europe", Organisation.Kind.INTERGOVERNMENTAL, "", "CoE"),
    ("European Court of Human Rights", Organisation.Kind.COURT, "", "ECtHR"),
    ("Organization for Security and Co-operation in Europe",
     Organisation.Kind.INTERGOVERNMENTAL, "",
     "OSCE\nOrganisation for Security and Cooperation in Europe"),
    ("Azerbaijan Bar Association", Organisation.Kind.BAR, "AZ", "Collegium of Advocates"),
    ("Baku Court of Grave Crimes", Organisation.Kind.COURT, "AZ", ""),
    ("Prosecutor-General of the Republic of Azerbaijan", Organisation.Kind.PROSECUTION, "AZ",
     "Prosecutor-General's Office of Azerbaijan"),
    ("Authorities of Azerbaijan", Organisation.Kind.GOVERNMENT, "AZ", "Azerbaijani authorities"),
    ("President of the Republic of Azerbaijan", Organisation.Kind.GOVERNMENT, "AZ", ""),
    ("Civil Rights Defenders", Organisation.Kind.NGO, "SE", ""),
    ("International Center for Not-for-Profit Law", Organisation.Kind.NGO, "US", "ICNL"),
    ("International Committee of the Red Cross", Organisation.Kind.NGO, "CH", "ICRC"),
    ("Eastern Partnership Civil Society Forum", Organisation.Kind.NGO, "BE", "EaP CSF"),
]

PEOPLE = [
    # name, other names, gender, occupation, defender type
    ("Khalid Bagirov", "Xalid Bağırov", Person.Gender.MALE, "Human rights lawyer",
     Person.DefenderType.LAWYER),
    ("Giyas Ibrahimov", "Qiyas İbrahimov", Person.Gender.MALE, "Youth activist",
     Person.DefenderType.YOUTH_ACTIVIST),
    ("Khadija Ismayilova", "Xədicə İsmayılova\nKhadiya Ismayilova\nKhadija Ismailova",
     Person.Gender.FEMALE, "Investigative journalist", Person.DefenderType.JOURNALIST),
    ("Dilgam Asgarov", "Dilqəm Əsgərov", Person.Gender.MALE,
     "Worker for the International Committee of the Red Cross", Person.DefenderType.AID_WORKER),
    ("Shahbaz Guliyev", "Şahbaz Quliyev", Person.Gender.MALE,
     "Worker for the International Committee of the Red Cross", Person.DefenderType.AID_WORKER),
    ("Nils Muižnieks", "Nils Muiznieks", Person.Gender.MALE,
     "Council of Europe Commissioner for Human Rights", Person.DefenderType.OFFICIAL),
    ("Dunja Mijatović", "Dunja Mijatovic", Person.Gender.FEMALE,
     "OSCE Representative on Freedom of the Media", Person.DefenderType.OFFICIAL),
]

CASES = [
    {
        "reference": "AZ-2016-001",
        "title": "Disbarment of human rights lawyer Khalid Bagirov",
        "location": "Baku",
        "started_on": "", "ended_on": "",
        "situation": Case.Situation.CONCLUDED,
        "violations": ["disbarment", "judicial-harassment"],
        "rights": ["association", "expression"],
        "summary": "An experienced lawyer known for representing prominent human rights "
                   "defenders was disbarred. The Council of Europe Commissioner for Human "
                   "Rights referred to the disbarment in written observations to the European "
                   "Court of Human Rights on 22 November 2016.",
        "involvements": [
            ("Khalid Bagirov", None, Involvement.Role.TARGETED,
             "Disbarred; known for representing prominent human rights defenders."),
            (None, "Azerbaijan Bar Association", Involvement.Role.PERPETRATOR,
             "Disbarred him."),
        ],
    },
    {
        "reference": "AZ-2016-002",
        "title": "Youth activist Giyas Ibrahimov sentenced to 10 years over graffiti",
        "location": "Baku",
        "started_on": "2016-05", "ended_on": "2016-10-25",
        "situation": Case.Situation.ONGOING,
        "violations": ["arbitrary-detention", "imprisonment", "ill-treatment"],
        "rights": ["expression"],
        "summary": "A 22-year-old youth activist detained in May 2016 for spraying graffiti on a "
                   "statue of a former President received a 10-year prison sentence on 25 "
                   "October 2016. There are fears that he was ill-treated during his detention.",
        "involvements": [
            ("Giyas Ibrahimov", None, Involvement.Role.TARGETED,
             "Detained in May 2016 for graffiti; sentenced to 10 years."),
            (None, "Baku Court of Grave Crimes", Involvement.Role.PERPETRATOR,
             "Handed down the 10-year sentence on 25 October 2016."),
        ],
    },
    {
        "reference": "AZ-2016-003",
        "title": "Cyber-attacks and smear campaign against Khadija Ismayilova",
        "location": "",
        "started_on": "2016-11", "ended_on": "",
        "situation": Case.Situation.ONGOING,
        "violations": ["cyber-attack", "smear-campaign"],
        "rights": ["expression"],
        "summary": "A prominent human rights defender and investigative journalist was targeted "
                   "by cyber-attacks in November 2016: hacked profiles were used to post sexual "
                   "innuendo with her name and contact details, in an attempt to discredit her "
                   "work.",
        "involvements": [
            ("Khadija Ismayilova", None, Involvement.Role.TARGETED, ""),
            (None, "Authorities of Azerbaijan", Involvement.Role.PERPETRATOR,
             "Alleged by Khadija Ismayilova."),
            (None, "Civil Rights Defenders", Involvement.Role.SOURCE,
             "Described the attacks as designed to smear women human rights defenders."),
        ],
    },
    {
        "reference": "AZ-2016-004",
        "title": "Criminal Code amendments extend presidential defamation to online expression",
        "location": "",
        "started_on": "2016-11-15", "ended_on": "",
        "situation": Case.Situation.ONGOING,
        "violations": ["restrictive-law"],
        "rights": ["expression"],
        "summary": "Amendments submitted to parliament extend liability for discrediting the "
                   "honour and dignity of the president to online expression. Penalties "
                   "include prison sentences and fines of up to 1,500 manats (US$860).",
        "involvements": [
            (None, "Prosecutor-General of the Republic of Azerbaijan",
             Involvement.Role.PERPETRATOR, "Submitted the amendments to parliament."),
        ],
    },
    {
        "reference": "AZ-2016-005",
        "title": "Dilgam Asgarov and Shahbaz Guliyev held in Armenia",
        "location": "Kalbajar district",
        "started_on": "", "ended_on": "",
        "situation": Case.Situation.ONGOING,
        "violations": ["arbitrary-detention"],
        "rights": [],
        "summary": "Two Azerbaijani citizens working for the International Committee of the Red "
                   "Cross in the Kalbajar district are held in Armenia. Members of the "
                   "Azerbaijani CSO delegation protested for their release at the Eastern "
                   "Partnership Civil Society Forum in Brussels in November 2016.",
        "involvements": [
            ("Dilgam Asgarov", None, Involvement.Role.TARGETED, ""),
            ("Shahbaz Guliyev", None, Involvement.Role.TARGETED, ""),
        ],
    },
    {
        "reference": "AZ-2016-006",
        "title": "Decree on registering foreign grants: a 'one-stop shop' for CSO funding",
        "location": "",
        "started_on": "2016-10-21", "ended_on": "",
        "situation": Case.Situation.ONGOING,
        "violations": ["funding-restriction"],
        "rights": ["association"],
        "summary": "On 21 October 2016 the President signed a document meant to simplify the "
                   "registration of foreign grants for CSOs, in force from 1 January 2017: the "
                   "Ministry of Justice for non-commercial entities and individuals, the "
                   "Ministry of Economy for commercial entities and the State Committee for "
                   "Work with Religious Organisations for faith-based groups. What the "
                   "procedure will mean in practice remains unclear.",
        "involvements": [
            (None, "President of the Republic of Azerbaijan", Involvement.Role.PERPETRATOR,
             "Signed the decree governing approval of international funding."),
            (None, "International Center for Not-for-Profit Law", Involvement.Role.SOURCE,
             "Said it is unclear what the one-stop-shop procedure will mean."),
        ],
    },
]

STATEMENTS = [
    {
        "reference": "ST-2016-001", "speaker": "Nils Muižnieks",
        "speaker_title": "Commissioner for Human Rights", "organisation": "Council of Europe",
        "said_on": "2016-11-22", "cases": ["AZ-2016-001"],
        "quote": "Judicial harassment and retaliatory measures against human rights defenders "
                 "and their lawyers continue to characterise the response of Azerbaijan’s "
                 "authorities to those who express critical opinions and co-operate with "
                 "international organisations to expose human rights violations in the country.",
    },
    {
        "reference": "ST-2016-002", "speaker": "Dunja Mijatović",
        "speaker_title": "Representative on Freedom of the Media",
        "organisation": "Organization for Security and Co-operation in Europe",
        "said_on": "2016-11-17", "cases": ["AZ-2016-004"],
        "quote": "If adopted, these amendments would again send a negative signal about the "
                 "state of free expression and free media in the country. I reiterate my call "
                 "on the authorities to fulfil their longstanding promise to decriminalize "
                 "defamation in Azerbaijan.",
    },
    {
        "reference": "ST-2016-003", "speaker": "Khadija Ismayilova",
        "speaker_title": "Human rights defender and investigative journalist",
        "organisation": None, "said_on": "2016-11", "cases": ["AZ-2016-003"],
        "quote": "This is how our government operates – we know because they have also done "
                 "it to several youth activists, female youth activists... They post "
                 "advertisements saying 'all sexual services are available' on a hacked "
                 "Facebook profile, with their name and all their contact information.",
    },
    {
        "reference": "ST-2016-004", "speaker": None, "speaker_title": "",
        "organisation": "Civil Rights Defenders", "said_on": "2016-12",
        "cases": ["AZ-2016-002", "AZ-2016-003", "AZ-2016-004"],
        "title": "Stop Crackdown on Freedom of Expression in Azerbaijan",
        "quote": "",
        "signatories": ["Civil Rights Defenders"],
        "internal_notes": "Joint statement signed by 20 organisations from around the world; "
                          "only signatories recorded in Casework are linked.",
    },
]


def _user(username: str) -> User:
    return User.objects.get(username=username)


def create_demo_users(stdout=None) -> None:
    for username, (role, password) in DEMO_USERS.items():
        user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        if created:
            user.set_password(password)
            user.save()
        user.groups.add(Group.objects.get(name=role))


def _publish(record, researcher: User, verifier: User) -> None:
    if record.status == Status.PUBLISHED:
        return
    if record.status in (Status.DRAFT, Status.RETRACTED):
        record.submit_for_review(researcher)
    if record.status == Status.IN_REVIEW:
        record.verify(verifier)
    record.publish(verifier)


def _create(model, lookup: dict, values: dict, researcher: User):
    record = model.objects.filter(**lookup).first()
    if record is None:
        record = model(**lookup, **values, created_by=researcher, updated_by=researcher)
        record.save()
    return record


@transaction.atomic
def load_demo() -> dict[str, int]:
    create_demo_users()
    researcher, verifier = _user("researcher"), _user("verifier")
    to_publish = []

    seed = _create(Source, {"citation": SEED_SOURCE["citation"]}, {
        "published_on": parse_partial_date(SEED_SOURCE["published_on"])[0],
        "published_on_precision": parse_partial_date(SEED_SOURCE["published_on"])[1],
        "reliability": SEED_SOURCE["reliability"],
    }, researcher)
    to_publish.append(seed)

    organisations = {}
    for name, kind, country, other_names in ORGANISATIONS:
        organisations[name] = _create(Organisation, {"name": name}, {
            "kind": kind, "country": country, "other_names": other_names}, researcher)
    people = {}
    for name, other_names, gender, occupation, defender_type in PEOPLE:
        people[name] = _create(Person, {"name": name}, {
            "other_names": other_names, "gender": gender, "occupation": occupation,
            "defender_type": defender_type, "country": "AZ" if defender_type not in (
                Person.DefenderType.OFFICIAL,) else "",
            "identity_public": True,
        }, researcher)
    to_publish += list(organisations.values()) + list(people.values())

    cases = {}
    for data in CASES:
        started, started_precision = parse_partial_date(data["started_on"])
        ended, ended_precision = parse_partial_date(data["ended_on"])
        case = Case.objects.filter(reference=data["reference"]).first()
        if case is None:
            case = _create(Case, {"reference": data["reference"]}, {
                "title": data["title"], "summary": data["summary"], "country": "AZ",
                "location": data["location"], "situation": data["situation"],
                "started_on": started, "started_on_precision": started_precision,
                "ended_on": ended, "ended_on_precision": ended_precision,
            }, researcher)
            case.violations.set(ViolationType.objects.filter(slug__in=data["violations"]))
            case.rights.set(Right.objects.filter(slug__in=data["rights"]))
            case.sources.add(seed)
            for person, organisation, role, description in data["involvements"]:
                Involvement.objects.create(
                    case=case, role=role, description=description,
                    person=people.get(person), organisation=organisations.get(organisation),
                )
        cases[data["reference"]] = case
        to_publish.append(case)

    for data in STATEMENTS:
        said, said_precision = parse_partial_date(data["said_on"])
        statement = Statement.objects.filter(reference=data["reference"]).first()
        if statement is None:
            statement = _create(Statement, {"reference": data["reference"]}, {
                "speaker": people.get(data["speaker"]),
                "speaker_title": data["speaker_title"],
                "organisation": organisations.get(data["organisation"]),
                "said_on": said, "said_on_precision": said_precision,
                "title": data.get("title", ""), "quote": data["quote"], "language": "en",
                "source": seed, "internal_notes": data.get("internal_notes", ""),
            }, researcher)
            statement.cases.set([cases[ref] for ref in data["cases"]])
            statement.signatories.set(
                [organisations[name] for name in data.get("signatories", [])])
        to_publish.append(statement)

    for record in to_publish:
        record.refresh_from_db()
        _publish(record, researcher, verifier)
    return {
        "cases": len(cases), "people": len(people), "organisations": len(organisations),
        "statements": len(STATEMENTS), "users": len(DEMO_USERS),
    }
