"""The QA checks on real bytes, without a server: sniffing, probing, and each check's verdict."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests import media
from tools import templates
from tools.qa_checks import Delivery, Probe, probe, run_checks, sniff

HAMILTON = (43.2557, -79.8711)
NOW = datetime(2026, 5, 1, 15, 0, tzinfo=UTC)


def heic(width: int, height: int) -> bytes:
    ftyp = struct.pack(">I", 24) + b"ftypheic" + struct.pack(">I", 0) + b"mif1heic"
    ispe = struct.pack(">I", 20) + b"ispe" + struct.pack(">III", 0, width, height)
    thumb = struct.pack(">I", 20) + b"ispe" + struct.pack(">III", 0, 320, 240)
    return ftyp + ispe + thumb


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (media.jpeg(1, width=64, height=64), "jpeg"),
        (media.png(1, width=64, height=64), "png"),
        (media.pdf(), "pdf"),
        (media.wav(0.1), "wav"),
        (media.mp4(1), "mp4"),
        (media.mp4(1, brand=b"qt  "), "mov"),
        (media.mp4(1, brand=b"M4A "), "m4a"),
        (heic(4000, 3000), "heic"),
        (b"ID3\x04\x00" + b"\x00" * 20, "mp3"),
        (b"GIF89a" + b"\x00" * 20, None),
    ],
)
def test_formats_are_sniffed_from_the_bytes(data: bytes, expected: str | None) -> None:
    assert sniff(data[:64]) == expected


def probe_bytes(tmp_path: Path, data: bytes, *, kind: str = "photo", name: str = "f", tz: str = "UTC") -> Probe:
    path = tmp_path / name
    path.write_bytes(data)
    return probe(str(path), file_id=f"file_{name}", filename=name, kind=kind, tz=tz)


def test_a_jpeg_probe_reads_size_capture_time_and_gps(tmp_path: Path) -> None:
    taken = datetime(2026, 5, 1, 11, 0, tzinfo=timezone(timedelta(hours=-4)))
    found = probe_bytes(tmp_path, media.jpeg(1, width=1200, height=900, taken_at=taken, gps=HAMILTON))
    assert (found.format, found.width, found.height) == ("jpeg", 1200, 900)
    assert found.taken_at == taken
    assert found.gps == pytest.approx(HAMILTON, abs=1e-5)
    assert found.phash is not None


def test_a_capture_time_without_offset_is_local_to_the_task(tmp_path: Path) -> None:
    found = probe_bytes(tmp_path, media.jpeg(1, taken_at=datetime(2026, 1, 15, 9, 30)), tz="America/Toronto")
    assert found.taken_at == datetime(2026, 1, 15, 14, 30, tzinfo=UTC)


def test_media_lengths_are_read_from_wav_and_mp4(tmp_path: Path) -> None:
    assert probe_bytes(tmp_path, media.wav(2.5), kind="audio", name="a").duration == pytest.approx(2.5)
    assert probe_bytes(tmp_path, media.mp4(42), kind="video", name="v").duration == pytest.approx(42)


def test_a_heic_size_comes_from_its_primary_image(tmp_path: Path) -> None:
    found = probe_bytes(tmp_path, heic(4032, 3024))
    assert (found.format, found.width, found.height) == ("heic", 4032, 3024)


def test_a_broken_image_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    found = probe_bytes(tmp_path, media.jpeg(1)[:200])
    assert found.format == "jpeg"
    assert found.problems


def delivery(probes: list[Probe], *, ordered: dict[str, int], spec: dict | None = None) -> Delivery:
    return Delivery(
        probes=probes,
        ordered=ordered,
        task_spec=spec or {},
        window=(NOW - timedelta(hours=1), NOW + timedelta(hours=3)),
        center=HAMILTON,
        geofence_radius_m=300,
    )


def verdicts(task_type: str, d: Delivery) -> dict[str, bool]:
    return {c["name"]: c["passed"] for c in run_checks(templates.get(task_type).acceptance_tests, d)}


def test_spec_fields_override_the_template_lengths(tmp_path: Path) -> None:
    clips = [probe_bytes(tmp_path, media.mp4(s), kind="video", name=f"c{s}") for s in (20, 40)]
    assert verdicts("UGC_VERTICAL_BATCH", delivery(clips, ordered={"video": 2})) == {
        "video_count": True, "video_format": True, "clip_min_length": True, "clip_max_length": True,
    }  # fmt: skip
    strict = delivery(clips, ordered={"video": 2}, spec={"clip_min_seconds": 25, "clip_max_seconds": 30})
    assert verdicts("UGC_VERTICAL_BATCH", strict) == {
        "video_count": True, "video_format": True, "clip_min_length": False, "clip_max_length": False,
    }  # fmt: skip


def test_kinds_not_ordered_expect_none_and_unreadable_lengths_fail(tmp_path: Path) -> None:
    jpegs = [media.jpeg(i, width=1600, height=1200, taken_at=NOW) for i in range(3)]
    photos = [probe_bytes(tmp_path, data, name=f"p{i}") for i, data in enumerate(jpegs)]
    result = verdicts("OOH_ASSET_VERIFICATION", delivery(photos, ordered={"photo": 3}))
    assert all(result.values()), result
    broken = probe_bytes(tmp_path, media.mp4(12)[:30], kind="video", name="broken")
    result = verdicts("OOH_ASSET_VERIFICATION", delivery([*photos, broken], ordered={"photo": 3}))
    assert {name for name, ok in result.items() if not ok} == {"loop_length"}


def test_a_pdf_registered_as_a_photo_fails_the_format_check(tmp_path: Path) -> None:
    files = [probe_bytes(tmp_path, media.pdf(), name="doc")]
    results = run_checks(templates.get("PRODUCT_PHOTO_ECOMM").acceptance_tests, delivery(files, ordered={"photo": 1}))
    fmt = next(c for c in results if c["name"] == "photo_format")
    assert (fmt["passed"], fmt["measured"]) == (False, {"pdf": 1})
    assert fmt["details"]["files"][0]["format"] == "pdf"
