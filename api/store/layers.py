"""City layers (lamps, cameras, buildings ...): saved atomically with their typed columns, loaded as GeoDataFrames."""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text

from qauipsiz.api.layer_checks import LayerImport, import_layers
from qauipsiz.api.store import models as m
from qauipsiz.api.store.database import Repository


class LayerRepository(Repository):
    """Layers of each city: the known ones (:data:`~qauipsiz.api.store.models.LAYER_SCHEMAS`) in their
    own tables, any other in ``layer_features``."""

    def save_layer(self, city: str, name: str, gdf: gpd.GeoDataFrame) -> int:
        """Replace layer ``name`` of ``city`` with ``gdf`` (any CRS; stored in EPSG:4326), atomically.

        Known layers (:data:`qauipsiz.api.store.models.LAYER_SCHEMAS`) get their typed columns; other
        attributes, and every attribute of an unknown layer, are kept in ``props`` JSON.
        Returns the number of features written.
        """
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise ValueError(f"layer {name!r}: expected a GeoDataFrame, got {type(gdf).__name__}")
        g = gdf.to_crs(4326) if gdf.crs is not None and gdf.crs.to_epsg() != 4326 else gdf
        geoms = g.geometry.values
        typed = m.LAYER_SCHEMAS.get(name, (None, {}))[1]
        attrs = pd.DataFrame(g.drop(columns=g.geometry.name))
        cols = {c: attrs[c] if c in attrs else pd.Series([None] * len(attrs), index=attrs.index) for c in typed}
        rest = attrs.drop(columns=[c for c in typed if c in attrs])
        props = rest.to_json(orient="records", force_ascii=False, date_format="iso")
        props = [json.dumps(p, ensure_ascii=False) for p in json.loads(props)] if len(rest.columns) else [None] * len(g)
        if self.db.backend == "postgresql":
            wkb = np.asarray(shapely.to_wkb(geoms, hex=True), dtype=object)
            gsql = "ST_SetSRID(ST_GeomFromWKB(decode(:geom, 'hex')), 4326)"
        else:
            wkb = np.asarray(shapely.to_wkb(geoms), dtype=object)
            gsql = ":geom"
        recs = pd.DataFrame({c: s.astype(object).where(s.notna(), None).to_numpy() for c, s in cols.items()})
        recs = recs.astype(object)
        for c, typ in typed.items():
            recs[c] = [None if v is None else (bool(v) if typ is m.Boolean else int(v) if typ is m.BigInteger
                                               else float(v) if typ is m.Float else str(v)) for v in recs[c]]
        recs["props"] = props
        recs["geom"] = wkb
        recs["city"] = city
        if name in m.layer_tables:
            table = m.layer_tables[name].name
            where = "city = :city"
        else:
            table = "layer_features"
            recs["layer"] = name
            where = "city = :city AND layer = :layer"
        names = list(recs.columns)
        vals = ", ".join((gsql if c == "geom" else f":{c}") for c in names)
        with self.db.write() as conn:
            conn.execute(text(f"DELETE FROM {table} WHERE {where}"), {"city": city, "layer": name})
            if len(recs):
                conn.execute(text(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({vals})"),
                             recs.to_dict("records"))
            self.db.bump(conn, city)
        return len(recs)

    def load_layer(self, city: str, name: str) -> gpd.GeoDataFrame:
        """Layer ``name`` of ``city`` as a GeoDataFrame in EPSG:4326 (typed columns, then ``props`` expanded)."""
        typed = list(m.LAYER_SCHEMAS.get(name, (None, {}))[1])
        gexpr = "ST_AsBinary(geom)" if self.db.backend == "postgresql" else "geom"
        if name in m.layer_tables:
            sql = (f"SELECT {', '.join([*typed, 'props', gexpr])} FROM {m.layer_tables[name].name} "
                   "WHERE city = :city ORDER BY fid")
        else:
            sql = f"SELECT props, {gexpr} FROM layer_features WHERE city = :city AND layer = :layer ORDER BY fid"
        with self.db.engine.connect() as conn:
            rows = conn.execute(text(sql), {"city": city, "layer": name}).fetchall()
        cols = [*typed, "props", "geom"]
        df = pd.DataFrame.from_records(rows, columns=cols)
        geom = shapely.from_wkb([None if g is None else bytes(g) for g in df["geom"]]) if len(df) else []
        extra = pd.DataFrame([json.loads(p) if p else {} for p in df["props"]], index=df.index)
        out = pd.concat([df[typed], extra], axis=1)
        for c, typ in m.LAYER_SCHEMAS.get(name, (None, {}))[1].items():
            if typ is m.Float:
                out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
            elif typ is m.BigInteger:
                out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
            elif typ is m.Boolean:
                out[c] = out[c].map(lambda v: None if v is None else bool(v)).astype("boolean")
        return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geom, crs=4326, index=df.index), crs=4326)

    def list_layers(self, city: str) -> dict[str, int]:
        """Layers stored for ``city``: name -> feature count."""
        out = {}
        with self.db.engine.connect() as conn:
            for name, t in m.layer_tables.items():
                n = conn.execute(text(f"SELECT count(*) FROM {t.name} WHERE city = :c"), {"c": city}).scalar()
                if n:
                    out[name] = int(n)
            for layer, n in conn.execute(text("SELECT layer, count(*) FROM layer_features WHERE city = :c "
                                              "GROUP BY layer ORDER BY layer"), {"c": city}):
                out[layer] = int(n)
        return out

    def load_layers(self, city: str, names: Iterable[str] | None = None) -> dict[str, gpd.GeoDataFrame]:
        """Several layers at once: ``{name: GeoDataFrame}`` (all stored layers when ``names`` is None)."""
        names = list(self.list_layers(city)) if names is None else list(names)
        return {n: self.load_layer(city, n) for n in names}

    def import_layers_dir(self, city: str, folder: str | Path) -> LayerImport:
        """Check and save every layer file in ``folder`` as a layer named after the file.

        The rows go through the same checks as ``qauipsiz ingest-layers``
        (:func:`qauipsiz.api.layer_checks.import_layers`: column synonyms, geometry kind, decimal
        degrees, inside the city plus 2 km, schema values); bad rows are set aside, not stored.
        Returns ``{layer: features stored}`` (a :class:`~qauipsiz.api.layer_checks.LayerImport`
        whose ``.quarantine`` holds the rows set aside with layer, row, field and reason).
        """
        return import_layers(self, city, folder)
