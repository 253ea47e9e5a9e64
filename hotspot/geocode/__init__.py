"""Incident geocoding: Kazakh/Russian addresses → points, offline, with measured quality.

Public API (stable; see ``docs/geocode.md``):

- :class:`Geocoder` — ``Geocoder.for_city("astana").geocode(addresses, district_hint=None)``
- :func:`build_gazetteer`, :class:`Gazetteer`, :func:`has_gazetteer` — build/load a city's gazetteer
- :func:`check_coordinates` — swap / zero / outside / low-precision / sink checks
- :func:`reverse` — point → district, inspector beat, block
- :func:`match_report` — match rate overall, per district, per source, per precision
- :func:`parse_address`, :func:`normalize_address`, :func:`fold`, :func:`fold_text`,
  :func:`to_latin`, :func:`from_latin` — the normaliser
"""
from qauipsiz.hotspot.geocode.coords import check_coordinates, default_points, find_sinks
from qauipsiz.hotspot.geocode.gazetteer import Gazetteer, build_gazetteer, has_gazetteer
from qauipsiz.hotspot.geocode.letters import fold, fold_text, from_latin, to_latin
from qauipsiz.hotspot.geocode.matcher import (
    ACCEPT_SCORE,
    CONFIDENT_SCORE,
    MATCHED_PRECISIONS,
    Geocoder,
)
from qauipsiz.hotspot.geocode.normalize import ParsedAddress, normalize_address, parse_address
from qauipsiz.hotspot.geocode.report import match_report
from qauipsiz.hotspot.geocode.reverse import reverse

__all__ = [
    "ACCEPT_SCORE", "CONFIDENT_SCORE", "MATCHED_PRECISIONS", "Gazetteer", "Geocoder", "ParsedAddress",
    "build_gazetteer", "check_coordinates", "default_points", "find_sinks", "fold", "fold_text", "from_latin",
    "has_gazetteer", "match_report", "normalize_address", "parse_address", "reverse", "to_latin",
]
