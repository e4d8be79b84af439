"""CITATION.cff: valid Citation File Format 1.2.0, and the same citation as everywhere else.

The schema is the official one, vendored in ``tests/vendor/`` (its provenance is in the README
there), so the check needs no network. The lesson's title, authors, year and address must be those
of the BibTeX entry on the landing page (``intro.md``), its version and licences those of
``pyproject.toml``, and each reference (the tools the lesson asks to be cited with it) that of
the entry with the same DOI in ``references.bib``.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml
from pybtex.database import Entry, parse_file, parse_string

ROOT = Path(__file__).resolve().parents[1]
CFF = ROOT / "CITATION.cff"
SCHEMA = Path(__file__).parent / "vendor" / "cff-schema-1.2.0.json"
INTRO = ROOT / "intro.md"
CITE_ALONG = "please cite it, together with the tools it teaches:"


class _CffLoader(yaml.SafeLoader):
    """YAML as the Citation File Format reads it: dates stay strings, as its schema expects."""


_CffLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_cff(text: str) -> dict:
    return yaml.load(text, Loader=_CffLoader)


@pytest.fixture(scope="module")
def cff() -> dict:
    return load_cff(CFF.read_text(encoding="utf-8"))


def schema_errors(cff: dict) -> list[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                  for e in validator.iter_errors(cff))  # fmt: skip


def plain(latex: str) -> str:
    """A BibTeX field as plain text: no protecting braces, ``$t\\bar{t}$`` as tt̄, one space."""
    text = re.sub(r"\\bar\{(\w)\}", "\\1\u0304", latex).replace("$", "")
    return " ".join(text.replace("{", "").replace("}", "").split())


def bib_authors(entry: Entry) -> list[tuple[str, ...]]:
    """(family names, given names) of each author; (name,) for an organisation."""
    out = []
    for person in entry.persons["author"]:
        family = plain(" ".join(person.prelast_names + person.last_names))
        given = plain(" ".join(person.first_names + person.middle_names))
        out.append((family, given) if given else (family,))
    return out


def cff_authors(authors: list[dict]) -> list[tuple[str, ...]]:
    return [(a["family-names"], a["given-names"]) if "family-names" in a else (a["name"],)
            for a in authors]  # fmt: skip


def landing_page() -> tuple[Entry, list[str]]:
    """The BibTeX entry of the lesson on the landing page, and the keys of the works it asks
    to be cited along with it."""
    text = INTRO.read_text(encoding="utf-8")
    along = text.split(CITE_ALONG, 1)[1].split("```", 1)[0]
    (bibtex,) = re.findall(r"```bibtex\n(.*?)```", text, flags=re.S)
    (entry,) = parse_string(bibtex, "bibtex").entries.values()
    return entry, re.findall(r"\{cite:t\}`([^`]+)`", along)


def test_the_vendored_schema_is_the_official_cff_1_2_0_schema():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$id"] == "https://citation-file-format.github.io/1.2.0/schema.json"
    jsonschema.Draft7Validator.check_schema(schema)
    assert set(schema["required"]) == {"authors", "cff-version", "message", "title"}


def test_citation_file_is_valid_cff_1_2_0(cff):
    assert cff["cff-version"] == "1.2.0"
    assert schema_errors(cff) == []


def test_the_schema_check_finds_what_is_missing_or_misspelt(cff):
    without_message = {key: value for key, value in cff.items() if key != "message"}
    assert schema_errors(without_message) == ["(top): 'message' is a required property"]
    assert schema_errors({**cff, "licence": "MIT"})  # a key the format does not have
    assert schema_errors({**cff, "license": ["MIT", "CC-BY-4"]})  # not an SPDX identifier


def test_the_citation_is_the_landing_page_bibtex_entry(cff):
    entry, _ = landing_page()
    title = plain(entry.fields["title"])
    assert "tt̄ cross-section measurement" in title  # the LaTeX became text
    preferred = cff["preferred-citation"]
    assert cff["title"] == preferred["title"] == title
    assert cff_authors(cff["authors"]) == cff_authors(preferred["authors"]) == bib_authors(entry)
    assert preferred["year"] == int(entry.fields["year"])
    assert cff["url"] == cff["repository-code"] == preferred["url"] == entry.fields["url"]


def test_version_and_licences_are_those_of_the_package(cff):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cff["version"] == project["version"]
    assert sorted(cff["license"]) == sorted(project["license"].split(" AND "))


def test_references_are_the_entries_of_references_bib(cff):
    bib = parse_file(str(ROOT / "references.bib")).entries
    by_doi = {entry.fields["doi"].lower(): entry for entry in bib.values() if "doi" in entry.fields}
    for reference in cff["references"]:
        entry = by_doi[reference["doi"].lower()]
        assert reference["title"] == plain(entry.fields["title"]), reference["doi"]
        assert cff_authors(reference["authors"]) == bib_authors(entry), reference["doi"]
        assert reference["year"] == int(entry.fields["year"]), reference["doi"]
        if "version" in entry.fields:
            assert reference["version"] == entry.fields["version"], reference["doi"]
    # every work the landing page asks to be cited with the lesson is among them
    _, along = landing_page()
    assert len(along) == 3
    assert {bib[key].fields["doi"].lower() for key in along} <= {
        reference["doi"].lower() for reference in cff["references"]
    }
