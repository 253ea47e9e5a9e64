"""Re-export of :mod:`qauipsiz.hotspot.points` (derived point fields live below the store)."""
from __future__ import annotations

from qauipsiz.hotspot.points import assign_district, derive_point_fields

__all__ = ["assign_district", "derive_point_fields"]
