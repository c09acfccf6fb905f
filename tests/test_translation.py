"""UI text is marked for translation: no words outside {% translate %} in the templates."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType

# Names that are the same in every language.
UNTRANSLATED = {"Casework", "CSV", "JSON"}
TEMPLATES = sorted(p for p in Path(settings.BASE_DIR, "templates").rglob("*.html")
                   if "admin" not in p.parts)  # the admin's own pages are Django's


LETTERS = r"[^\W\d_]"  # a letter of any alphabet
READABLE = r"aria-label|aria-description|title|alt|placeholder|label"


def bare_words(template: str) -> list[str]:
    """Words of a template that no {% translate %} or {% blocktranslate %} covers: in its
    text, in readable attributes (the label of a button included), and in the text given
    to `default` filters and `with` arguments. Tags and variables count as no word."""
    parts, words, depth, skipping = [], [], 0, None
    for token in Lexer(template).tokenize():
        bits = token.contents.split()
        name = bits[0] if bits and token.token_type == TokenType.BLOCK else ""
        if skipping:  # inside {% comment %} or {% verbatim %}
            skipping = None if name == f"end{skipping}" else skipping
            continue
        if name in ("comment", "verbatim"):
            skipping = name
        depth += name in ("blocktranslate", "blocktrans")
        depth -= name in ("endblocktranslate", "endblocktrans")
        if token.token_type == TokenType.TEXT and not depth:
            parts.append(token.contents)
            continue
        parts.append("§")
        if token.token_type in (TokenType.VAR, TokenType.BLOCK) and name not in (
                "translate", "trans", "blocktranslate", "blocktrans"):
            # (Identifiers such as id="chart-month" or a template's path are no text.)
            words += [value for value in re.findall(
                rf'(?:default(?:_if_none)?:|\s\w+=)"([^"]*{LETTERS}[^"]*)"', token.contents)
                if not re.fullmatch(r"[a-z0-9_./:-]+", value)]
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", "".join(parts), flags=re.S | re.I)
    for tag in re.findall(r"<[^>]*>", html):
        attributes = dict((k.lower(), v) for k, _q, v in re.findall(
            r"([\w-]+)\s*=\s*([\"'])(.*?)\2", tag, flags=re.S))
        readable = [v for k, v in attributes.items() if re.fullmatch(READABLE, k)]
        if attributes.get("type") in ("submit", "button", "reset"):
            readable.append(attributes.get("value", ""))
        if tag.lower().startswith("<meta") and attributes.get("name") == "description":
            readable.append(attributes.get("content", ""))
        words += [v.replace("§", " ") for v in readable
                  if re.search(LETTERS, v.replace("§", ""))]
    text = re.sub(r"&#?\w+;", " ", re.sub(r"<[^>]*>", " ", html))
    words += re.findall(rf"{LETTERS}[\w'’]*(?:\s+{LETTERS}[\w'’]*)*", text)
    return [" ".join(w.split()) for w in words if " ".join(w.split()) not in UNTRANSLATED]


@pytest.mark.parametrize(("template", "found"), [
    ('<p>Hello {{ name }}</p><img alt="A chart" src="{{ x }}">', ["A chart", "Hello"]),
    ('<a aria-label="{% translate \'Next\' %} page">', ["page"]),
    ('<a title="{{ n }} cases found">', ["cases found"]),
    ("<img alt='A chart of cases' src=x>", ["A chart of cases"]),
    ('<input type="submit" value="Search">', ["Search"]),
    ('<meta name="description" content="Cases of reprisals">', ["Cases of reprisals"]),
    ('{{ x|default:"Not known" }}', ["Not known"]),
    ('{% include "x.html" with heading="Latest cases" %}', ["Latest cases"]),
    ("<p>Übersicht</p>", ["Übersicht"]),
    ('{% load i18n %}<p title="{{ t }}">{% translate "Hello" %} '
     "{% blocktranslate trimmed %}Hi {{ n }}{% endblocktranslate %}</p>", []),
    ('{% comment %}A note for developers{% endcomment %}<input type="hidden" value="x">', []),
    ('{{ when|date:"c" }}<a href="?sort=newest" class="button-link">{{ n }}</a>', []),
])
def test_the_check_finds_untranslated_text(template, found):
    assert sorted(bare_words(template)) == sorted(found)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_every_public_template_marks_its_text_for_translation(path):
    assert bare_words(path.read_text(encoding="utf-8")) == []
