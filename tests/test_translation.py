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


def bare_words(template: str) -> list[str]:
    """Words of a template's text and readable attributes that no {% translate %} or
    {% blocktranslate %} covers. Template tags and variables count as neither."""
    parts, depth = [], 0
    for token in Lexer(template).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = (token.contents.split() or [""])[0]
            depth += name in ("blocktranslate", "blocktrans")
            depth -= name in ("endblocktranslate", "endblocktrans")
        parts.append(token.contents if token.token_type == TokenType.TEXT and not depth
                     else "§")
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", "".join(parts), flags=re.S)
    words = re.findall(r'\b(?:aria-label|title|alt|placeholder)="([^"§]*[A-Za-z][^"§]*)"',
                       html)
    text = re.sub(r"&#?\w+;", " ", re.sub(r"<[^>]*>", " ", html))
    words += re.findall(r"[A-Za-z][A-Za-z'’]*(?:\s+[A-Za-z][A-Za-z'’]*)*", text)
    return [" ".join(w.split()) for w in words if w not in UNTRANSLATED]


def test_the_check_finds_untranslated_text():
    assert bare_words('<p>Hello {{ name }}</p><img alt="A chart" src="{{ x }}">') == [
        "A chart", "Hello"]
    assert bare_words('{% load i18n %}<p title="{{ t }}">{% translate "Hello" %} '
                      "{% blocktranslate %}Hi {{ n }}{% endblocktranslate %}</p>") == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_every_public_template_marks_its_text_for_translation(path):
    assert bare_words(path.read_text(encoding="utf-8")) == []
