"""Rebuild the shipped boundary files from ../shared/data/kz/ (run from the repository root).

Normalises property names to ``district, name_kk, name_ru, name_en, kato`` and writes GeoJSON
in EPSG:4326.  Kept so the provenance of every shipped polygon is reproducible.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import geopandas as gpd

SRC = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/kz")
OUT = Path(__file__).resolve().parent

ASTANA_EN = {
    "Сарыарқа": ("saryarka", "Saryarka"), "Байқоңыр": ("baikonur", "Baikonur"),
    "Нұра": ("nura", "Nura"), "Алматы": ("almaty", "Almaty"),
    "Сарайшық": ("saraishyk", "Saraishyk"), "Есіл": ("esil", "Esil"),
}
ALMATY_EN = {
    "Медеуский район": ("medeu", "Medeu"), "Бостандыкский район": ("bostandyk", "Bostandyk"),
    "Наурызбайский район": ("nauryzbay", "Nauryzbay"), "Жетысуский район": ("zhetysu", "Zhetysu"),
    "Алатауский район": ("alatau", "Alatau"), "Турксибский район": ("turksib", "Turksib"),
    "Ауэзовский район": ("auezov", "Auezov"), "Алмалинский район": ("almaly", "Almaly"),
}


def _write(gdf: gpd.GeoDataFrame, name: str) -> None:
    path = OUT / name
    path.unlink(missing_ok=True)
    gdf.to_file(path, driver="GeoJSON")
    print(f"wrote {path} ({len(gdf)} features)")


def main() -> None:
    a = gpd.read_file(SRC / "astana_districts.geojson").to_crs(4326)
    a["district"] = a["name_object_kaz"].map(lambda n: ASTANA_EN[n][0])
    a["name_en"] = a["name_object_kaz"].map(lambda n: ASTANA_EN[n][1])
    a = a.rename(columns={"name_object_kaz": "name_kk", "name_object": "name_ru"})
    a["name_kk"] = a["name_kk"] + " ауданы"
    a["name_ru"] = "район " + a["name_ru"]
    _write(a[["district", "name_kk", "name_ru", "name_en", "kato", "geometry"]], "astana_districts.geojson")

    m = gpd.read_file(SRC / "almaty_districts.geojson").to_crs(4326)
    m["district"] = m["name_ru"].map(lambda n: ALMATY_EN[n][0])
    m["name_en"] = m["name_ru"].map(lambda n: ALMATY_EN[n][1])
    # the source writes Әуезов with a Latin schwa (U+018F); use the Cyrillic letter
    m["name_kk"] = m["name_kz"].str.replace("\u018f", "\u04d8")
    m["kato"] = None
    _write(m[["district", "name_kk", "name_ru", "name_en", "kato", "geometry"]], "almaty_districts.geojson")

    r = gpd.read_file(SRC / "kz_regions_adm1.geojson").to_crs(4326)
    r = r.rename(columns={"ADM1_EN": "name_en", "ADM1_PCODE": "pcode"})
    _write(r[["pcode", "name_en", "geometry"]], "kz_regions.geojson")

    streets = OUT.parent / "streets"
    streets.mkdir(exist_ok=True)
    for f in ("astana_streets.json", "astana_intersections.json"):
        shutil.copyfile(SRC / f, streets / f)
        print(f"copied {f}")
    pop = OUT.parent / "population"
    pop.mkdir(exist_ok=True)
    for f in (SRC / "population").glob("*.csv"):
        shutil.copyfile(f, pop / f.name)


if __name__ == "__main__":
    main()
