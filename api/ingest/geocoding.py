"""The one place where ingestion meets the geocoding layer (``hotspot.geocode``)."""
from __future__ import annotations

import pandas as pd

from qauipsiz.api.ingest.prepare import Geocoder


def city_geocoder(city: str) -> Geocoder | None:
    """A :data:`~api.ingest.prepare.Geocoder` hook backed by ``hotspot.geocode.Geocoder.for_city(city)``,
    or ``None`` when the city has no gazetteer (address-only rows then wait for geocoding).

    The gazetteer is loaded on the first call, so files with coordinates on every row never pay
    for it. The adapter maps the geocoder's columns to the hook contract: ``lat, lon, precision,
    score, uncertainty_m`` unchanged, ``matched`` = the geocoder's ``accepted`` flag (street
    precision or better and a score above its acceptance threshold), ``candidates`` = its
    alternatives text, ``ambiguous`` = its flag (the address names several streets or far-apart
    pieces of one, nothing separates them: such rows are quarantined ``geocode_ambiguous``).
    """
    from qauipsiz.hotspot.geocode import Geocoder as _Geocoder
    from qauipsiz.hotspot.geocode import has_gazetteer

    if not has_gazetteer(city):
        return None

    def geocode(addresses: pd.Series) -> pd.DataFrame:
        r = _Geocoder.for_city(city).geocode(addresses.tolist())
        r.index = addresses.index
        out = r[["lat", "lon", "precision", "score", "uncertainty_m"]].copy()
        out["matched"] = r["accepted"].astype(bool)
        cand = r["candidates"].astype(object) if "candidates" in r else pd.Series(None, index=r.index, dtype=object)
        out["candidates"] = cand.where(cand.notna() & (cand != ""), None)
        if "ambiguous" in r:
            out["ambiguous"] = r["ambiguous"].astype(bool)
        return out

    return geocode
