"""The ten task templates in templates/tasks/: they load, their schemas are valid, their rules and
acceptance tests use only the kinds QA knows, and their spec schemas accept and reject as meant."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from tools.templates import TEMPLATE_DIR, TaskType, Template, all_templates

RULE_KINDS = {"deliverable_kinds", "duration_hours", "location_mode", "budget_min"}
CHECK_KINDS = {
    "count",
    "format",
    "min_resolution",
    "capture_time_window",
    "gps_geofence",
    "near_duplicates",
    "min_duration",
    "max_duration",
}
DELIVERABLE_KINDS = {"photo", "video", "audio", "document"}
FORMATS = {"jpeg", "png", "heic", "mp4", "mov", "wav", "mp3", "m4a", "pdf"}
FORMATS_BY_KIND = {
    "photo": {"jpeg", "png", "heic"},
    "video": {"mp4", "mov"},
    "audio": {"wav", "mp3", "m4a"},
    "document": {"pdf"},
}
PRICE_UNITS = {"per_task", "per_hour", "per_clip", "per_location"}

# For each task type: a minimal task_spec that must validate, and an obviously wrong one that
# must not.
EXAMPLES: dict[TaskType, tuple[dict, dict]] = {
    TaskType.PRODUCT_PHOTO_ECOMM: (
        {"product_count": 10, "background": "white", "angles": ["front", "back", "detail"]},
        {"product_count": 0, "background": "plaid"},
    ),
    TaskType.UGC_VERTICAL_BATCH: (
        {
            "clip_count": 5,
            "product": {"name": "Glow Serum"},
            "usage_rights": {"scope": "paid_social", "term_months": 12},
            "talking_points": ["absorbs fast", "no fragrance"],
        },
        {"clip_count": 5, "product": {"name": "Glow Serum"}, "aspect_ratio": "16:9"},
    ),
    TaskType.EVENT_PHOTO_COVERAGE: (
        {"event_type": "conference", "edited_selects_count": 120},
        {"event_type": "conference", "edited_selects_count": "lots"},
    ),
    TaskType.EVENT_HIGHLIGHT_VIDEO: (
        {"event_type": "product_launch", "aspect_ratio": "16:9"},
        {"event_type": "product_launch", "aspect_ratio": "21:9"},
    ),
    TaskType.ON_SITE_STORY_PACK: (
        {"platforms": ["instagram", "tiktok"], "delivery_deadline_local": "18:00"},
        {"platforms": [], "delivery_deadline_local": "6pm"},
    ),
    TaskType.RETAIL_AUDIT_PHOTO_CHECK: (
        {
            "store": {"name": "FreshMart #112"},
            "checklist_items": [{"id": "sku-1", "check": "price", "expected": "$4.99"}],
        },
        {"store": {"name": "FreshMart #112"}, "checklist_items": []},
    ),
    TaskType.OOH_ASSET_VERIFICATION: (
        {
            "assets": [
                {
                    "asset_id": "CC-4411-N",
                    "media_type": "billboard",
                    "expected_creative": "Summer Sale - 40% off",
                }
            ]
        },
        {"assets": [{"asset_id": "CC-4411-N"}]},
    ),
    TaskType.STREET_TEAM_DISTRIBUTION: (
        {
            "flyer_count": 500,
            "zone_description": "King St W between Spadina and Bathurst, both sides",
            "method": "hand_to_hand",
            "zone_polygon": {
                "type": "Polygon",
                "coordinates": [[[-79.40, 43.64], [-79.39, 43.64], [-79.39, 43.65], [-79.40, 43.64]]],
            },
        },
        {"flyer_count": 500, "zone_description": "downtown", "method": "mailbox"},
    ),
    TaskType.POPUP_EVENT_STAFFING: (
        {
            "staff_count": 3,
            "role": "brand_ambassador",
            "dress_code": "all_black",
            "shift_start_local": "10:00",
            "shift_end_local": "16:00",
        },
        {"staff_count": 3, "role": "brand_ambassador", "dress_code": "all_black", "tips": True},
    ),
    TaskType.PODCAST_ON_SITE_CAPTURE: (
        {"track_count": 3, "mic_count": 3, "min_duration_seconds": 1800},
        {"track_count": 3, "mic_count": 3, "min_duration_seconds": 1800, "format": "mp3"},
    ),
}

TEMPLATES = all_templates()
IDS = [t.value for t in TaskType]


def _rule(template: Template, kind: str) -> dict:
    found = [r for r in template.validation_rules if r["rule"] == kind]
    assert len(found) == 1, f"{template.task_type}: expected one {kind} rule, found {len(found)}"
    return found[0]


def test_every_task_type_has_a_template():
    assert set(TEMPLATES) == set(TaskType)
    assert len(TEMPLATES) == 10
    assert sorted(p.stem for p in TEMPLATE_DIR.glob("*.json")) == sorted(IDS)


@pytest.mark.parametrize("task_type", list(TaskType), ids=IDS)
def test_template_shape_and_schema(task_type):
    raw = json.loads((TEMPLATE_DIR / f"{task_type.value}.json").read_text())
    reference = json.loads((TEMPLATE_DIR / "PRODUCT_PHOTO_ECOMM.json").read_text())
    assert set(raw) == set(reference)
    template = TEMPLATES[task_type]
    assert template.task_type == task_type
    assert template.location_modes == ["onsite"]
    assert template.geofence_radius_m > 0

    schema = template.spec_schema
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["required"]
    assert set(schema["required"]) <= set(schema["properties"])

    price = template.price_guidance
    assert price["currency"] == "USD"
    assert price["unit"] in PRICE_UNITS
    assert 0 < price["min"] <= price["typical"] <= price["max"]
    assert price["notes"]


@pytest.mark.parametrize("task_type", list(TaskType), ids=IDS)
def test_validation_rules_use_known_kinds(task_type):
    template = TEMPLATES[task_type]
    ids = [r["id"] for r in template.validation_rules]
    assert len(ids) == len(set(ids))
    for rule in template.validation_rules:
        assert rule["rule"] in RULE_KINDS
        assert rule["message"]
    assert set(_rule(template, "deliverable_kinds")["allowed"]) == set(template.deliverable_kinds)
    assert set(template.deliverable_kinds) <= DELIVERABLE_KINDS
    assert _rule(template, "location_mode")["allowed"] == ["onsite"]
    duration = _rule(template, "duration_hours")
    assert 0 < duration["min"] <= template.default_duration_hours <= duration["max"]
    budget = _rule(template, "budget_min")
    assert isinstance(budget["amount"], int) and budget["amount"] > 0


@pytest.mark.parametrize("task_type", list(TaskType), ids=IDS)
def test_acceptance_tests_use_known_checks_and_kinds(task_type):
    template = TEMPLATES[task_type]
    properties = template.spec_schema["properties"]
    ids = [t["id"] for t in template.acceptance_tests]
    assert len(ids) == len(set(ids))
    for test in template.acceptance_tests:
        check, kind = test["check"], test["kind"]
        assert check in CHECK_KINDS, test
        assert kind in template.deliverable_kinds, test
        assert test["description"]
        if check == "count":
            assert ("min_from" in test) != ("min" in test), test
            if "min_from" in test:
                assert test["min_from"] == "deliverables"
            else:
                assert isinstance(test["min"], int) and test["min"] >= 1
        elif check == "format":
            assert test["allowed"] and set(test["allowed"]) <= FORMATS_BY_KIND[kind], test
        elif check == "min_resolution":
            assert kind == "photo"
            assert isinstance(test["min_short_side_px"], int) and test["min_short_side_px"] > 0
        elif check in ("capture_time_window", "gps_geofence"):
            assert kind == "photo", "EXIF checks apply to photos"
        elif check == "near_duplicates":
            assert kind == "photo"
            assert isinstance(test["max_distance"], int) and 0 <= test["max_distance"] <= 10
        elif check in ("min_duration", "max_duration"):
            assert kind in ("audio", "video")
            assert "seconds" in test or "spec_field" in test
            if "seconds" in test:
                assert isinstance(test["seconds"], int) and test["seconds"] > 0
        if "spec_field" in test:
            assert properties[test["spec_field"]]["type"] == "integer", test
    # Every deliverable kind the template allows has a count and a format check.
    for kind in template.deliverable_kinds:
        checks = {t["check"] for t in template.acceptance_tests if t["kind"] == kind}
        assert {"count", "format"} <= checks, kind


@pytest.mark.parametrize("task_type", list(TaskType), ids=IDS)
def test_default_deliverables_satisfy_the_rules(task_type):
    template = TEMPLATES[task_type]
    allowed_kinds = set(_rule(template, "deliverable_kinds")["allowed"])
    assert template.default_deliverables
    for item in template.default_deliverables:
        assert set(item) == {"kind", "count", "format"}
        assert item["kind"] in allowed_kinds
        assert isinstance(item["count"], int) and item["count"] >= 1
        assert item["format"] in FORMATS
        for test in template.acceptance_tests:
            if test["kind"] == item["kind"] and test["check"] == "format":
                assert item["format"] in test["allowed"], (item, test)
    # The defaults meet every fixed minimum count.
    for test in template.acceptance_tests:
        if test["check"] == "count" and "min" in test:
            ordered = sum(d["count"] for d in template.default_deliverables if d["kind"] == test["kind"])
            assert ordered >= test["min"], test


@pytest.mark.parametrize("task_type", list(TaskType), ids=IDS)
def test_example_specs(task_type):
    validator = Draft202012Validator(TEMPLATES[task_type].spec_schema)
    good, bad = EXAMPLES[task_type]
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors(bad)) != []
    assert list(validator.iter_errors({})) != [], "an empty spec misses required fields"
    assert list(validator.iter_errors({**good, "unexpected_field": 1})) != []


@pytest.mark.parametrize("task_type", list(TaskType), ids=IDS)
def test_schema_defaults_are_valid(task_type):
    """Every `default` in the top-level properties is itself accepted by its property schema."""
    properties = TEMPLATES[task_type].spec_schema["properties"]
    for name, prop in properties.items():
        if "default" in prop:
            assert list(Draft202012Validator(prop).iter_errors(prop["default"])) == [], name


@pytest.mark.parametrize("task_type", list(TaskType), ids=IDS)
def test_spec_field_fallbacks_match_schema_defaults(task_type):
    """Where a check names a spec_field with a default, its fixed fallback (used when the agent
    leaves the field out) is never stricter than the default the schema advertises."""
    template = TEMPLATES[task_type]
    properties = template.spec_schema["properties"]
    fallback_param = {
        "min_resolution": "min_short_side_px",
        "min_duration": "seconds",
        "max_duration": "seconds",
    }
    for test in template.acceptance_tests:
        field = test.get("spec_field")
        param = fallback_param.get(test["check"])
        if field and param and param in test and "default" in properties[field]:
            default = properties[field]["default"]
            if test["check"] == "max_duration":
                assert test[param] >= default, test
            else:
                assert test[param] <= default, test


def _variants(good: dict) -> list:
    """The example spec, and many near misses: each field dropped or given a value of another
    type, a negative, a huge number, an empty or over-long string, an empty array or object."""
    found = [good, {}, {**good, "unexpected_field": 1}]
    for name in good:
        found.append({k: v for k, v in good.items() if k != name})
        for value in (None, True, "x", "", "y" * 6000, -1, 0, 2.5, 10**9, [], [1], {}, {"a": 1}):
            found.append({**good, name: value})
        if isinstance(good[name], list) and good[name]:
            found.append({**good, name: good[name] * 50})
            found.append({**good, name: [None, *good[name]]})
    return found


@pytest.mark.parametrize("task_type", list(TaskType), ids=IDS)
def test_fast_spec_checker_agrees_with_the_validator(task_type):
    """create_task asks jsonschema-rs first and reports errors with jsonschema: the two must never
    disagree, above all never may the fast one accept what the full validator rejects."""
    from tools.templates import spec_checker, spec_validator

    good, bad = EXAMPLES[task_type]
    verdicts = []
    for spec in [*_variants(good), bad]:
        full = not list(spec_validator(task_type).iter_errors(spec))
        assert spec_checker(task_type).is_valid(spec) == full, spec
        verdicts.append(full)
    assert verdicts.count(True) >= 1 and verdicts.count(False) >= 10
