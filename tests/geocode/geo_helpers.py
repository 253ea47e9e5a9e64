"""Helpers shared by the geocoding tests."""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
LABELLED = HERE / "labelled_addresses.csv"


def street_names_of(geocoder, sid: int) -> set[str]:
    """Source names of gazetteer street ``sid`` (names folding to one key and type are one street)."""
    if sid < 0:
        return set()
    return set(geocoder.gaz.streets["names"].iloc[sid].split("|"))
