"""Plain factories: small functions that make valid records with sensible defaults."""

import itertools

from django.contrib.auth.models import Group

from accounts.models import User
from casework.models import Case, Involvement, Organisation, Person, Source, Statement

_seq = itertools.count(1)

PASSWORD = "correct-horse-battery-staple"


def make_user(role: str | None = None, **fields) -> User:
    n = next(_seq)
    user = User.objects.create_user(
        username=fields.pop("username", f"{(role or 'user').lower()}{n}"),
        password=PASSWORD, is_staff=role is not None, **fields,
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def signed_in_client(user: User):
    """A test client signed in as `user`, with a second factor passed as for real:
    a confirmed TOTP device recorded in the session the way django_otp.login does."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="test", defaults={"confirmed": True})
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def make_case(author: User | None = None, **fields) -> Case:
    n = next(_seq)
    fields.setdefault("reference", f"XX-2020-{n:04d}")
    fields.setdefault("title", f"Case {n}")
    fields.setdefault("country", "AZ")
    case = Case(created_by=author, updated_by=author, **fields)
    case.save()
    return case


def make_person(author: User | None = None, **fields) -> Person:
    fields.setdefault("name", f"Person {next(_seq)}")
    person = Person(created_by=author, updated_by=author, **fields)
    person.save()
    return person


def make_organisation(author: User | None = None, **fields) -> Organisation:
    fields.setdefault("name", f"Organisation {next(_seq)}")
    organisation = Organisation(created_by=author, updated_by=author, **fields)
    organisation.save()
    return organisation


def make_source(author: User | None = None, **fields) -> Source:
    fields.setdefault("url", f"https://example.org/report/{next(_seq)}")
    source = Source(created_by=author, updated_by=author, **fields)
    source.save()
    return source


def make_statement(author: User | None = None, **fields) -> Statement:
    n = next(_seq)
    fields.setdefault("reference", f"ST-2020-{n:04d}")
    fields.setdefault("quote", f"Statement {n}")
    if "speaker" not in fields and "organisation" not in fields:
        fields["organisation"] = make_organisation(author)
    statement = Statement(created_by=author, updated_by=author, **fields)
    statement.save()
    return statement


def involve(case: Case, party, role: str = Involvement.Role.TARGETED, **fields) -> Involvement:
    key = "person" if isinstance(party, Person) else "organisation"
    return Involvement.objects.create(case=case, role=role, **{key: party}, **fields)


def publish(record, researcher: User, verifier: User):
    """Walk a record through the whole workflow, as two different people."""
    record.refresh_from_db()
    record.submit_for_review(researcher)
    record.verify(verifier)
    record.publish(verifier)
    return record
