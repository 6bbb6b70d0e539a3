"""Real media for tests: JPEGs with EXIF time and GPS, distinct or near-duplicate images, WAVs, MP4s.

Everything is generated from a seed, so a test's files are the same on every run.
"""

from __future__ import annotations

import io
import random
import struct
import wave
from datetime import datetime
from fractions import Fraction

from PIL import ExifTags, Image, TiffImagePlugin


def picture(seed: int, width: int = 1000, height: int = 800) -> Image.Image:
    """A smooth random picture: a small seeded noise field, enlarged.

    Low-frequency content gives every seed its own perceptual hash and compresses well.
    """
    rng = random.Random(seed)
    small = Image.frombytes("RGB", (6, 6), bytes(rng.randrange(256) for _ in range(6 * 6 * 3)))
    return small.resize((width, height), Image.Resampling.BICUBIC)


def _rational(value: float, denominator: int = 10_000) -> TiffImagePlugin.IFDRational:
    frac = Fraction(value).limit_denominator(denominator)
    return TiffImagePlugin.IFDRational(frac.numerator, frac.denominator)


def _dms(degrees: float) -> tuple[TiffImagePlugin.IFDRational, ...]:
    degrees = abs(degrees)
    whole = int(degrees)
    minutes_f = (degrees - whole) * 60
    minutes = int(minutes_f)
    seconds = (minutes_f - minutes) * 60
    return (_rational(whole, 1), _rational(minutes, 1), _rational(seconds, 1000))


def exif_block(*, taken_at: datetime | None = None, gps: tuple[float, float] | None = None) -> Image.Exif:
    """EXIF with DateTimeOriginal (+ OffsetTimeOriginal when `taken_at` is aware) and a GPS IFD."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "crewcall-tests"
    if taken_at is not None:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        sub[ExifTags.Base.DateTimeOriginal] = taken_at.strftime("%Y:%m:%d %H:%M:%S")
        offset = taken_at.utcoffset()
        if offset is not None:
            minutes = int(offset.total_seconds() // 60)
            sign = "+" if minutes >= 0 else "-"
            sub[ExifTags.Base.OffsetTimeOriginal] = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    if gps is not None:
        lat, lng = gps
        ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        ifd[ExifTags.GPS.GPSVersionID] = b"\x02\x03\x00\x00"
        ifd[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        ifd[ExifTags.GPS.GPSLatitude] = _dms(lat)
        ifd[ExifTags.GPS.GPSLongitudeRef] = "E" if lng >= 0 else "W"
        ifd[ExifTags.GPS.GPSLongitude] = _dms(lng)
    return exif


def jpeg(
    seed: int = 1,
    *,
    width: int = 1000,
    height: int = 800,
    taken_at: datetime | None = None,
    gps: tuple[float, float] | None = None,
    quality: int = 85,
) -> bytes:
    """A real JPEG of the given size, with EXIF capture time and GPS when given."""
    out = io.BytesIO()
    picture(seed, width, height).save(out, "JPEG", quality=quality, exif=exif_block(taken_at=taken_at, gps=gps))
    return out.getvalue()


def png(seed: int = 1, *, width: int = 1000, height: int = 800) -> bytes:
    out = io.BytesIO()
    picture(seed, width, height).save(out, "PNG")
    return out.getvalue()


def wav(seconds: float, *, rate: int = 8000) -> bytes:
    """A silent mono 16-bit WAV lasting `seconds`."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return out.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(seconds: float, *, brand: bytes = b"isom") -> bytes:
    """The smallest MP4 a reader accepts: ftyp and a moov whose mvhd states the duration.

    It has no samples; it carries exactly what QA reads (container type and length).
    """
    timescale = 1000
    mvhd = struct.pack(">B3xIIII", 0, 0, 0, timescale, int(seconds * timescale))
    mvhd += struct.pack(">IH10x", 0x00010000, 0x0100)  # rate 1.0, volume 1.0
    mvhd += struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)  # identity matrix
    mvhd += b"\x00" * 24 + struct.pack(">I", 2)  # pre-defined, next track id
    ftyp = _box(b"ftyp", brand + struct.pack(">I", 512) + brand + b"mp41")
    return ftyp + _box(b"moov", _box(b"mvhd", mvhd)) + _box(b"mdat", b"")


def pdf() -> bytes:
    """A one-page PDF."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
