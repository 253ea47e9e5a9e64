"""Fixtures of the geocoding tests: the shipped Astana geocoder and the labelled address set."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

LABELLED = Path(__file__).resolve().parent / "labelled_addresses.csv"


@pytest.fixture(scope="session")
def astana():
    from qauipsiz.hotspot.geocode import Geocoder

    return Geocoder.for_city("astana")


@pytest.fixture(scope="session")
def labelled() -> pd.DataFrame:
    return pd.read_csv(LABELLED, dtype=str, keep_default_na=False)
