"""Layer importers: GeoJSON, GeoPackage, CSV, XLSX, and errors that name row, field and reason."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from qauipsiz.cpted.layers import SCHEMAS, load_layer_dir, read_layer, validate_layer


def _lamps():
    return gpd.GeoDataFrame({"lamp_id": [1, 2], "height_m": [8.0, 5.0], "flux_lm": [12000.0, 4000.0],
                             "lamp_class": ["street", "yard"], "working": [True, False]},
                            geometry=[shapely.Point(71.43, 51.13), shapely.Point(71.431, 51.131)], crs=4326)


def test_geojson_gpkg_csv_xlsx_roundtrip(tmp_path):
    g = _lamps()
    g.to_file(tmp_path / "lamps.geojson", driver="GeoJSON")
    g.to_crs(32642).to_file(tmp_path / "x.gpkg", layer="lamps", driver="GPKG")  # reprojected back on read
    df = pd.DataFrame({"lon": ["71,43", "71,431"], "lat": ["51,13", "51,131"], "height_m": ["8", "5"],
                       "flux_lm": ["12000", "4000"], "working": ["да", "нет"]})
    df.to_csv(tmp_path / "c.csv", sep=";", index=False)
    df.to_excel(tmp_path / "x.xlsx", index=False)
    for path in (tmp_path / "lamps.geojson", tmp_path / "x.gpkg", tmp_path / "c.csv", tmp_path / "x.xlsx"):
        out = read_layer(path, "lamps")
        assert out.crs.to_epsg() == 4326
        assert out["height_m"].tolist() == [8.0, 5.0]
        assert out["working"].tolist() == [True, False]
        assert out.geometry.x.iloc[0] == pytest.approx(71.43, abs=1e-9)


def test_load_layer_dir_picks_known_stems(tmp_path):
    _lamps().to_file(tmp_path / "lamps.geojson", driver="GeoJSON")
    (tmp_path / "notes.txt").write_text("ignored")
    pd.DataFrame({"lon": [71.43], "lat": [51.13], "access": ["Intercom"]}).to_csv(tmp_path / "entrances.csv", index=False)
    L = load_layer_dir(tmp_path)
    assert set(L) == {"lamps", "entrances"}
    assert L["entrances"]["access"].iloc[0] == "intercom"
    assert L["entrances"]["main"].iloc[0]  # default
    with pytest.raises(ValueError, match="missing layer"):
        load_layer_dir(tmp_path, required=("cameras",))


def test_lamp_class_fills_flux():
    g = _lamps()
    g["flux_lm"] = [None, None]
    out = validate_layer("lamps", g)
    assert out["flux_lm"].tolist() == [12000.0, 4000.0]
    g["lamp_class"] = ["street", "mystery"]
    with pytest.raises(ValueError, match=r"row 1, field 'flux_lm'.*mystery"):
        validate_layer("lamps", g)


@pytest.mark.parametrize("layer,col,value,pattern", [
    ("entrances", "access", "sometimes", r"row 1, field 'access': 'sometimes' is not one of"),
    ("cameras", "fov_deg", "wide", r"row 1, field 'fov_deg': 'wide' is not a number"),
    ("cameras", "resolution_px", 5.0, r"row 1, field 'resolution_px': 5.0 is below the minimum"),
    ("lamps", "working", "maybe", r"row 1, field 'working': 'maybe' is not a boolean"),
])
def test_bad_values_name_row_field_reason(layer, col, value, pattern):
    base = {"entrances": {"access": ["open", "open"]},
            "cameras": {"bearing_deg": [0, 0], "fov_deg": [90, 90], "resolution_px": [1920, 1920]},
            "lamps": {"height_m": [8, 8], "flux_lm": [1000, 1000], "working": [True, True]}}[layer]
    df = pd.DataFrame({k: list(v) for k, v in base.items()}).astype(object)
    df.loc[1, col] = value
    g = gpd.GeoDataFrame(df, geometry=[shapely.Point(71.43, 51.13)] * 2, crs=4326)
    with pytest.raises(ValueError, match=pattern):
        validate_layer(layer, g)


def test_geometry_errors():
    g = gpd.GeoDataFrame({"access": ["open", "open"]}, geometry=[shapely.Point(71.4, 51.1), None], crs=4326)
    with pytest.raises(ValueError, match=r"row 1, field 'geometry': missing geometry, expected Point"):
        validate_layer("entrances", g)
    g = gpd.GeoDataFrame({"levels": [5]}, geometry=[shapely.Point(71.4, 51.1)], crs=4326)
    with pytest.raises(ValueError, match=r"row 0, field 'geometry': Point geometry, expected Polygon"):
        validate_layer("buildings", g)
    g = gpd.GeoDataFrame({"access": ["open"]}, geometry=[shapely.Point(500000, 5600000)])
    g.crs = None
    with pytest.raises(ValueError, match="not decimal degrees"):
        validate_layer("entrances", g)
    with pytest.raises(ValueError, match="required column is missing"):
        validate_layer("entrances", gpd.GeoDataFrame(geometry=[shapely.Point(71.4, 51.1)], crs=4326))
    with pytest.raises(ValueError, match="unknown layer"):
        validate_layer("trees", g)


def test_schemas_cover_the_demo_layers():
    assert {"lamps", "cameras", "sos_buttons", "buildings", "entrances", "fences", "landuse", "transit_stops",
            "bars", "police_stations", "blocks"} <= set(SCHEMAS)
