"""The checked-in llms.txt and openapi/*.json are exactly what `crewcall generate` writes now."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate

from server.discovery import PLACEHOLDER_URL, ROOT, generated_files, openapi_document
from tools.registry import registry


@pytest.mark.parametrize("path", list(generated_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_checked_in_file_matches_a_fresh_build(path) -> None:  # type: ignore[no-untyped-def]
    fresh = generated_files()[path]
    assert path.exists() and path.read_text() == fresh, f"{path.name} is stale: run `crewcall generate`"


def test_the_build_is_deterministic() -> None:
    assert generated_files() == generated_files()


def test_openapi_is_valid_3_1_with_one_operation_per_tool() -> None:
    spec = openapi_document(PLACEHOLDER_URL)
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    operations = {
        op["operationId"]: (method.upper(), path) for path, item in spec["paths"].items() for method, op in item.items()
    }
    assert operations == {name: (s.method, s.path) for name, s in registry().items()}


def test_every_operation_documents_the_error_envelope_and_posts_take_an_idempotency_key() -> None:
    spec = openapi_document(PLACEHOLDER_URL)
    for item in spec["paths"].values():
        for method, op in item.items():
            assert {"400", "401", "404", "429", "500"} <= set(op["responses"]), op["operationId"]
            refs = [p.get("$ref") for p in op.get("parameters", [])]
            assert ("#/components/parameters/IdempotencyKey" in refs) == (method == "post"), op["operationId"]
    assert "$defs" not in json.dumps(spec)


def test_llms_txt_documents_every_tool() -> None:
    text = generated_files()[ROOT / "llms.txt"]
    for name, spec in registry().items():
        assert f"### {name}\n" in text and f"`{spec.method} {spec.path}`" in text
