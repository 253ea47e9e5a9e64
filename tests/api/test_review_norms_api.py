"""POST /review cites the city's own lighting norm table when one is in the data dir (issue 17.9), and
the SanPiN default, labelled as a Russian Federation norm, when none is."""
from __future__ import annotations

from pathlib import Path

from qauipsiz.cpted.norms import lighting_norms

DESIGNS = Path(__file__).resolve().parents[2] / "data" / "designs"


def _post(client, headers, lang="kk"):
    with open(DESIGNS / "yard_bad.geojson", "rb") as fh:
        r = client.post("/api/v1/review?city=astana&lang=" + lang, files={"file": ("yard_bad.geojson", fh)},
                        headers=headers["planner"])
    assert r.status_code == 200, r.text
    return {x["id"]: x for x in r.json()["rules"]}, r.json()["norms"]


def test_review_api_uses_the_city_table_in_the_data_dir(client, headers, api_env):
    rules, norms = _post(client, headers)
    assert norms["default"] is True and "Ресей Федерациясының нормасы" in rules["LIGHT-PLAYGROUND"]["source_kk"]
    path = Path(api_env["root"]) / "cities" / "astana" / "norms" / "lighting.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    t = lighting_norms().drop(columns=["default"])
    t.loc[t["zone"] == "parking", "e_avg_lx"] = 5.0
    t["designation"], t["jurisdiction"] = "СП РК 2.04-104-2012", "KZ"
    for lang, title in (("kk", "Табиғи және жасанды жарықтандыру"), ("ru", "Естественное и искусственное освещение"),
                        ("en", "Natural and artificial lighting")):
        t[f"title_{lang}"] = title
    try:
        t.to_csv(path, index=False, encoding="utf-8")
        rules, norms = _post(client, headers)
        pk = rules["LIGHT-PARKING"]
        assert norms["default"] is False and norms["designation"] == "СП РК 2.04-104-2012"
        assert pk["required"] == 5.0 and "СП РК 2.04-104-2012" in pk["source_kk"] and "5 лк" in pk["source_kk"]
        assert "Ресей" not in pk["source_kk"] and "≥ 5 лк" in pk["fix_kk"]
        # a broken table is the client's error, named by row and field
        path.write_text(path.read_text(encoding="utf-8").replace("10.0", "ten", 1), encoding="utf-8")
        with open(DESIGNS / "yard_bad.geojson", "rb") as fh:
            r = client.post("/api/v1/review?city=astana", files={"file": ("d.geojson", fh)}, headers=headers["planner"])
        assert r.status_code == 400 and "field e_avg_lx" in r.json()["detail"]
    finally:
        path.unlink(missing_ok=True)
    rules, norms = _post(client, headers, "en")
    assert norms["default"] is True and "Russian Federation norm" in rules["LIGHT-PARKING"]["source_en"]
