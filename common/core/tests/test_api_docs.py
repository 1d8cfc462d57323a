"""docs/api.md stays true: it names every /api/v1 path of the schema (with its real prefix) and no path that is
gone, and every error code the API can answer, each with the status the code gives it."""

from __future__ import annotations

import gc
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator

import apps
import common
from common.core.errors import DomainError
from common.core.exceptions import _DRF_CODES

API_DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"
# Answered by the exception handler and Django's error views rather than by a DomainError class.
HANDLER_CODES = {"bad_request", "too_many_fields", "request_too_large"}


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/"))


def _documented_paths() -> set[str]:
    found = re.findall(r"/api/v1/[A-Za-z0-9_\-/{}.]*", API_DOC.read_text())
    return {_shape(path.rstrip(".,;:)`")) for path in found} - {"/api/v1"}


def _schema_paths() -> set[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {_shape(path) for path in schema["paths"] if path.startswith("/api/v1/")}


def _domain_errors() -> dict[str, int]:
    """Every DomainError subclass in the code (each module imported once) → its status."""
    for package in (apps, common):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not re.search(r"\.(tests|migrations|management)(\.|$)", module.name):
                importlib.import_module(module.name)

    def subclasses(cls: type) -> list[type]:
        return [sub for direct in cls.__subclasses__() for sub in (direct, *subclasses(direct))]

    codes: dict[str, int] = {}
    for cls in subclasses(DomainError):
        if getattr(cls, "code", ""):
            codes.setdefault(cls.code, cls.status_code)
    return codes


def _documented_codes() -> dict[str, str]:
    """The rows of the "Every error code" table: code → status."""
    text = API_DOC.read_text().split("### Every error code", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", text, flags=re.M))


@pytest.mark.django_db
def test_every_api_path_is_documented_with_its_prefix_and_every_documented_path_exists():
    schema, documented = _schema_paths(), _documented_paths()
    assert len(schema) > 50, "the schema walk is broken"
    assert sorted(schema - documented) == [], "paths missing from docs/api.md"
    assert sorted(documented - schema) == [], "docs/api.md names paths the API does not have"


def test_every_error_code_is_documented_with_its_status():
    documented = _documented_codes()
    for code, status in _domain_errors().items():
        assert documented.get(code) == str(status), f"{code} ({status}) is not in docs/api.md's table as such"
    for code in {*_DRF_CODES.values(), *HANDLER_CODES}:
        assert code in documented, code
    assert documented["not_authenticated"] == "401"


def test_the_code_table_catches_a_code_it_lacks():
    class Invented(DomainError):
        code = "an_invented_code"
        status_code = 418

    try:
        assert "an_invented_code" in _domain_errors() and "an_invented_code" not in _documented_codes()
    finally:
        del Invented
        gc.collect()  # the class leaves DomainError.__subclasses__() for the other tests
