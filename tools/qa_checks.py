"""QA on real bytes: probe each delivered file, then run a template's acceptance tests on the probes.

Plain code without the database: qa.py gathers the files and the task, this module judges them.
Formats are sniffed from magic numbers, never taken from the filename or the announced type.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import combinations
from typing import Any
from zoneinfo import ZoneInfo

from tools.geo import distance_m

HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
IMAGE_FORMATS = {"jpeg", "png", "heic"}
TIMED_FORMATS = {"mp4", "mov", "m4a", "wav", "mp3"}
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 0x9003, 0x9011


def sniff(head: bytes) -> str | None:
    """The format of a file from its first bytes: jpeg, png, heic, mp4, mov, m4a, wav, mp3, pdf."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in HEIF_BRANDS:
            return "heic"
        if brand in AUDIO_BRANDS:
            return "m4a"
        return "mov" if brand == b"qt  " else "mp4"
    if head[4:8] in QUICKTIME_ATOMS:
        return "mov"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


@dataclass
class Probe:
    """What QA learned from one delivered file."""

    file_id: str
    filename: str
    kind: str  #: as registered: photo, video, audio, document
    format: str | None = None
    width: int | None = None
    height: int | None = None
    taken_at: datetime | None = None  #: EXIF DateTimeOriginal, made aware
    gps: tuple[float, float] | None = None
    phash: int | None = None
    duration: float | None = None
    problems: list[str] = field(default_factory=list)

    def ref(self, **more: Any) -> dict[str, Any]:
        return {"file_id": self.file_id, "filename": self.filename, **more}


def probe(path: str, *, file_id: str, filename: str, kind: str, tz: str) -> Probe:
    """Read the format, and for images the size, EXIF and perceptual hash, for media the length."""
    found = Probe(file_id=file_id, filename=filename, kind=kind)
    with open(path, "rb") as fh:
        head = fh.read(64)
    found.format = sniff(head)
    try:
        if found.format == "heic":
            found.width, found.height = _heif_size(path)
        elif found.format in IMAGE_FORMATS:
            _probe_image(path, found, tz)
        elif found.format in TIMED_FORMATS:
            found.duration = _duration(path)
    except Exception as exc:  # a broken file is a QA finding, not a server error
        found.problems.append(f"unreadable {found.format}: {type(exc).__name__}: {exc}")
    return found


def _probe_image(path: str, found: Probe, tz: str) -> None:
    import imagehash
    from PIL import Image

    with Image.open(path) as im:
        found.width, found.height = im.size
        exif = im.getexif()
        found.taken_at = _exif_time(exif.get_ifd(EXIF_IFD), tz)
        found.gps = _exif_gps(exif.get_ifd(GPS_IFD))
        im.draft("RGB", (256, 256))  # JPEG decodes at reduced scale: the hash needs 32x32 only
        found.phash = int(str(imagehash.phash(im)), 16)


def _exif_time(ifd: dict[int, Any], tz: str) -> datetime | None:
    raw = ifd.get(DATETIME_ORIGINAL)
    if not isinstance(raw, str):
        return None
    try:
        naive = datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = ifd.get(OFFSET_TIME_ORIGINAL)
    if isinstance(offset, str) and len(offset.strip()) >= 6:
        text = offset.strip()
        sign = -1 if text[0] == "-" else 1
        try:
            delta = timedelta(hours=int(text[1:3]), minutes=int(text[4:6]))
            return naive.replace(tzinfo=timezone(sign * delta))
        except ValueError:
            pass
    # Without an offset, the camera's clock is read as the task's local wall-clock time.
    return naive.replace(tzinfo=ZoneInfo(tz))


def _exif_gps(ifd: dict[int, Any]) -> tuple[float, float] | None:
    try:
        lat = _degrees(ifd[2]) * (-1 if str(ifd.get(1, "N")).upper().startswith("S") else 1)
        lng = _degrees(ifd[4]) * (-1 if str(ifd.get(3, "E")).upper().startswith("W") else 1)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or lat != lat or lng != lng:
        return None
    return lat, lng


def _degrees(dms: Any) -> float:
    d, m, s = (float(x) for x in dms)
    return d + m / 60 + s / 3600


def _heif_size(path: str) -> tuple[int, int]:
    """The largest image spatial extent ('ispe') property: the primary image of a HEIC file."""
    with open(path, "rb") as fh:
        data = fh.read(256 * 1024)
    sizes, at = [], data.find(b"ispe")
    while at != -1:
        width = int.from_bytes(data[at + 8 : at + 12], "big")
        height = int.from_bytes(data[at + 12 : at + 16], "big")
        sizes.append((width, height))
        at = data.find(b"ispe", at + 4)
    if not sizes:
        raise ValueError("no image size in the HEIF metadata")
    return max(sizes, key=lambda wh: wh[0] * wh[1])


def _duration(path: str) -> float:
    import mutagen

    media = mutagen.File(path)
    if media is None or getattr(media.info, "length", None) is None:
        raise ValueError("no duration found")
    return float(media.info.length)


# --- the checks -------------------------------------------------------------------------------


@dataclass
class Delivery:
    """Everything the checks judge: the probes of one round and what the task asked for."""

    probes: list[Probe]
    ordered: dict[str, int]  #: count ordered per kind (the task's deliverables)
    task_spec: dict[str, Any]
    window: tuple[datetime, datetime]  #: when photos may have been taken
    center: tuple[float, float] | None  #: the task location, if it has coordinates
    geofence_radius_m: float

    def of_kind(self, kind: str) -> list[Probe]:
        return [p for p in self.probes if p.kind == kind]


Outcome = tuple[bool, Any, Any, dict[str, Any] | None]  #: passed, measured, expected, details


def _number(test: dict[str, Any], delivery: Delivery, key: str) -> Any:
    """The test's number, unless the task_spec field it names overrides it."""
    spec_field = test.get("spec_field")
    if spec_field and delivery.task_spec.get(spec_field) is not None:
        return delivery.task_spec[spec_field]
    return test[key]


def check_count(test: dict[str, Any], delivery: Delivery, files: list[Probe]) -> Outcome:
    minimum = (
        delivery.ordered.get(test["kind"], 0)
        if test.get("min_from") == "deliverables"
        else _number(test, delivery, "min")
    )
    return len(files) >= minimum, len(files), {"min": minimum}, None


def check_format(test: dict[str, Any], delivery: Delivery, files: list[Probe]) -> Outcome:
    allowed = test["allowed"]
    bad = [p.ref(format=p.format or "unknown") for p in files if p.format not in allowed]
    measured = dict(Counter(p.format or "unknown" for p in files))
    return not bad, measured, {"allowed": allowed}, {"files": bad} if bad else None


def check_min_resolution(test: dict[str, Any], delivery: Delivery, files: list[Probe]) -> Outcome:
    minimum = _number(test, delivery, "min_short_side_px")
    sides = [(min(p.width, p.height), p) for p in files if p.width and p.height]
    bad = [p.ref(width=p.width, height=p.height) for side, p in sides if side < minimum]
    bad += [p.ref(problem="size unreadable") for p in files if not (p.width and p.height)]
    smallest = min((side for side, _ in sides), default=None)
    return not bad, {"min_short_side_px": smallest}, {"min_short_side_px": minimum}, {"files": bad} if bad else None


def check_capture_time(test: dict[str, Any], delivery: Delivery, files: list[Probe]) -> Outcome:
    start, end = delivery.window
    missing = [p.ref(problem="no EXIF DateTimeOriginal") for p in files if p.taken_at is None]
    outside = [
        p.ref(taken_at=p.taken_at.isoformat())
        for p in files
        if p.taken_at is not None and not start <= p.taken_at <= end
    ]
    measured = {"in_window": len(files) - len(missing) - len(outside), "outside": len(outside), "missing": len(missing)}
    expected = {"from": start.isoformat(), "to": end.isoformat()}
    bad = outside + missing
    return not bad, measured, expected, {"files": bad} if bad else None


def check_geofence(test: dict[str, Any], delivery: Delivery, files: list[Probe]) -> Outcome:
    radius = delivery.geofence_radius_m
    located = [p for p in files if p.gps is not None]
    measured: dict[str, Any] = {"with_gps": len(located), "without_gps": len(files) - len(located)}
    if delivery.center is None:
        return True, measured, {"max_distance_m": radius}, {"note": "the task has no coordinates to compare with"}
    lat0, lng0 = delivery.center
    distances = [(round(distance_m(lat0, lng0, *p.gps)), p) for p in located if p.gps]
    measured["max_distance_m"] = max((d for d, _ in distances), default=None)
    bad = [p.ref(distance_m=d, lat=p.gps[0], lng=p.gps[1]) for d, p in distances if d > radius and p.gps]
    expected = {"max_distance_m": radius, "center": {"lat": lat0, "lng": lng0}}
    return not bad, measured, expected, {"files": bad} if bad else None


def check_near_duplicates(test: dict[str, Any], delivery: Delivery, files: list[Probe]) -> Outcome:
    limit = test["max_distance"]
    hashed = [p for p in files if p.phash is not None]
    pairs, closest = [], None
    for a, b in combinations(hashed, 2):
        distance = (a.phash ^ b.phash).bit_count()  # type: ignore[operator]
        closest = distance if closest is None else min(closest, distance)
        if distance <= limit:
            pairs.append({"files": [a.ref(), b.ref()], "distance": distance})
    measured = {"duplicate_pairs": len(pairs), "closest_distance": closest}
    details: dict[str, Any] = {}
    if pairs:
        details["pairs"] = pairs
    if len(hashed) < len(files):
        details["not_hashed"] = [p.ref() for p in files if p.phash is None]
    return not pairs, measured, {"duplicate_pairs": 0, "max_distance": limit}, details or None


def _lengths(files: list[Probe]) -> tuple[list[tuple[float, Probe]], list[dict[str, Any]]]:
    known = [(p.duration, p) for p in files if p.duration is not None]
    unreadable = [p.ref(problem="length unreadable") for p in files if p.duration is None]
    return known, unreadable


def check_min_duration(test: dict[str, Any], delivery: Delivery, files: list[Probe]) -> Outcome:
    minimum = _number(test, delivery, "seconds")
    known, bad = _lengths(files)
    bad += [p.ref(seconds=round(length, 2)) for length, p in known if length < minimum]
    shortest = min((round(length, 2) for length, _ in known), default=None)
    return not bad, {"shortest_seconds": shortest}, {"min_seconds": minimum}, {"files": bad} if bad else None


def check_max_duration(test: dict[str, Any], delivery: Delivery, files: list[Probe]) -> Outcome:
    maximum = _number(test, delivery, "seconds")
    known, bad = _lengths(files)
    bad += [p.ref(seconds=round(length, 2)) for length, p in known if length > maximum]
    longest = max((round(length, 2) for length, _ in known), default=None)
    return not bad, {"longest_seconds": longest}, {"max_seconds": maximum}, {"files": bad} if bad else None


CHECKS: dict[str, Callable[[dict[str, Any], Delivery, list[Probe]], Outcome]] = {
    "count": check_count,
    "format": check_format,
    "min_resolution": check_min_resolution,
    "capture_time_window": check_capture_time,
    "gps_geofence": check_geofence,
    "near_duplicates": check_near_duplicates,
    "min_duration": check_min_duration,
    "max_duration": check_max_duration,
}


def run_checks(tests: list[dict[str, Any]], delivery: Delivery) -> list[dict[str, Any]]:
    """One result per acceptance test: {name, check, kind, passed, measured, expected, details?}."""
    results = []
    for test in tests:
        passed, measured, expected, details = CHECKS[test["check"]](test, delivery, delivery.of_kind(test["kind"]))
        result = {
            "name": test["id"],
            "check": test["check"],
            "kind": test["kind"],
            "description": test.get("description"),
            "passed": passed,
            "measured": measured,
            "expected": expected,
        }
        if details:
            result["details"] = details
        results.append(result)
    return results
