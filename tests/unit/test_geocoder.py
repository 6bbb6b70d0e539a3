from __future__ import annotations

import pytest

from server.adapters.geocoder import Gazetteer

GAZ = Gazetteer()


@pytest.mark.parametrize(
    ("address", "hint", "city", "country"),
    [
        ("12 Hess St N, Hamilton ON", None, "Hamilton", "CA"),
        ("Hamilton, Ontario", None, "Hamilton", "CA"),
        ("1 Main St, Hamilton, Scotland", None, "Hamilton", "GB"),
        ("123 Main St, Troy, MI 48084", None, "Troy", "US"),
        ("Hamilton", "NZ", "Hamilton", "NZ"),
        ("Place Ville Marie, Montréal QC", None, "Montréal", "CA"),
        ("London", None, "London", "GB"),
        ("London ON", None, "London", "CA"),
    ],
)
def test_cities_are_told_apart_by_region_and_country(address: str, hint: str | None, city: str, country: str) -> None:
    place = GAZ.resolve(address, country_hint=hint)
    assert place is not None
    assert (place.city, place.country) == (city, country)
    assert place.precision == "city"


def test_an_address_without_a_known_city_is_unresolved() -> None:
    assert GAZ.resolve("Nowhere Lane") is None


def test_timezone_comes_from_the_nearest_city() -> None:
    assert GAZ.timezone_at(43.25, -79.87) == "America/Toronto"
    assert GAZ.timezone_at(51.5, -0.12) == "Europe/London"
    assert GAZ.timezone_at(-33.87, 151.21) == "Australia/Sydney"
