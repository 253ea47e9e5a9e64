"""Build the example designs ``yard_good.geojson`` and ``yard_bad.geojson`` (run from the repo root).

Both place the same two residential slabs on a 140 m × 100 m site in Astana (south-west corner at
lon 71.4120, lat 51.1340, EPSG:4326) and differ in lighting, cameras, access and the playground's
place.  Coordinates are laid out in the city's UTM metres, then written in EPSG:4326.
"""
from __future__ import annotations

import json
from pathlib import Path

from qauipsiz.hotspot.cities import get_city

ORIGIN_LONLAT = (71.4120, 51.1340)
HERE = Path(__file__).resolve().parent


def _feature(kind, geom_type, coords, **props):
    return {"type": "Feature", "properties": {"kind": kind, **props}, "geometry": {"type": geom_type, "coordinates": coords}}


def _box(x0, y0, x1, y1):
    return [[(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]]


def _common():
    f = [
        _feature("site", "Polygon", _box(0, 0, 140, 100), name="Жилой двор / тұрғын аула / residential yard"),
        _feature("building", "Polygon", _box(20, 70, 80, 84), levels=9, use="residential", active_ground_floor=False),
        _feature("building", "Polygon", _box(100, 15, 114, 85), levels=12, use="residential", active_ground_floor=True),
        _feature("path", "LineString", [(0, 55), (95, 55)]),
        _feature("path", "LineString", [(65, 2), (65, 66)]),
    ]
    return f


ENTRANCES = [(30, 69.5), (50, 69.5), (70, 69.5), (99.5, 30), (99.5, 50), (99.5, 70)]
FRONT = [(30, 66), (50, 66), (70, 66), (96, 30), (96, 50), (96, 70)]  # 3.5 m in front of each entrance


def good():
    f = _common()
    f += [_feature("entrance", "Point", e, access="intercom", main=True) for e in ENTRANCES]
    f += [_feature("playground", "Polygon", _box(35, 30, 59, 48)), _feature("parking", "Polygon", _box(5, 5, 35, 20))]
    f += [_feature("lamp", "Point", p, height_m=4.0, flux_lm=4000.0, lamp_class="yard", working=True) for p in FRONT]
    f += [_feature("lamp", "Point", p, height_m=6.0, flux_lm=12000.0, lamp_class="floodlight", working=True)
          for p in ((39, 34), (55, 34), (39, 44), (55, 44))]
    f += [_feature("lamp", "Point", p, height_m=8.0, flux_lm=8000.0, lamp_class="street", working=True)
          for p in ((12, 12.5), (28, 12.5))]
    f += [_feature("lamp", "Point", (x, 57), height_m=4.0, flux_lm=3000.0, lamp_class="park", working=True)
          for x in (5, 20, 80, 92)]
    f += [_feature("lamp", "Point", (67, y), height_m=4.0, flux_lm=3000.0, lamp_class="park", working=True)
          for y in (5, 20)]
    bearings = [0, 0, 0, 90, 90, 90]
    cams = [(30, 62), (50, 62), (70, 62), (92, 30), (92, 50), (92, 70)]  # 7.5 m in front, facing the door
    f += [_feature("camera", "Point", c, bearing_deg=b, fov_deg=90, resolution_px=2560, height_m=3.5,
                   owner="public_cou", status="working") for c, b in zip(cams, bearings, strict=True)]
    f += [_feature("camera", "Point", (33, 28), bearing_deg=45, fov_deg=90, resolution_px=3840, height_m=4.0,
                   owner="public_cou", status="working")]
    f += [_feature("fence", "LineString", [(0, 0), (140, 0)], fence_type="yard_fence")]
    return f


def bad():
    f = _common()
    acc = ["open", "open", "intercom", "open", "intercom", "intercom"]
    f += [_feature("entrance", "Point", e, access=a, main=True) for e, a in zip(ENTRANCES, acc, strict=True)]
    f += [_feature("playground", "Polygon", _box(2, 2, 26, 20)), _feature("parking", "Polygon", _box(40, 5, 70, 20))]
    # lamps only at building B's entrances, one weak playground lamp, sparse path lamps, none at parking
    f += [_feature("lamp", "Point", p, height_m=4.0, flux_lm=4000.0, lamp_class="yard", working=True) for p in FRONT[3:]]
    f += [_feature("lamp", "Point", (14, 11), height_m=5.0, flux_lm=3000.0, lamp_class="park", working=True)]
    f += [_feature("lamp", "Point", (5, 57), height_m=4.0, flux_lm=3000.0, lamp_class="park", working=True)]
    f += [_feature("lamp", "Point", (67, 60), height_m=4.0, flux_lm=3000.0, lamp_class="park", working=False)]
    # two private cameras looking away from the entrances, one ЦОУ camera too far to recognise a face
    f += [_feature("camera", "Point", (50, 62), bearing_deg=180, fov_deg=90, resolution_px=1920, height_m=3.0,
                   owner="private", status="working"),
          _feature("camera", "Point", (80, 50), bearing_deg=90, fov_deg=90, resolution_px=1920, height_m=3.0,
                   owner="public_cou", status="working"),
          _feature("camera", "Point", (92, 30), bearing_deg=270, fov_deg=110, resolution_px=1280, height_m=3.0,
                   owner="private", status="working")]
    return f


def write(name, feats):
    city = get_city("astana")
    ox, oy = city.to_metric(*ORIGIN_LONLAT)

    def conv(c):
        if isinstance(c[0], int | float):
            lon, lat = city.to_wgs84(ox + c[0], oy + c[1])
            return [round(float(lon), 7), round(float(lat), 7)]
        return [conv(x) for x in c]

    for ft in feats:
        ft["geometry"]["coordinates"] = conv(ft["geometry"]["coordinates"])
    gj = {"type": "FeatureCollection", "name": name,
          "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}, "features": feats}
    (HERE / f"{name}.geojson").write_text(json.dumps(gj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write("yard_good", good())
    write("yard_bad", bad())
