import numpy as np
import pandas as pd
import pytest

from qauipsiz.hotspot import taxonomy as tx


def test_every_article_row_loads_and_is_complete():
    a = tx.articles()
    assert len(a) >= 40
    assert not a.duplicated(["code", "article", "part"]).any()
    for col in ("category", "category_kk", "category_ru", "category_en", "severity_class"):
        assert a[col].notna().all() and (a[col].astype(str).str.len() > 0).all(), col
    assert set(a["severity_class"]) <= set(tx.SEVERITY_CLASSES)
    # DOMAIN.md §3 articles are all present
    for art in (99, 106, 107, 108, 109, 120, 187, 188, 190, 191, 192, 194, 200, 202, 293, 294):
        assert ((a.code == "UK") & (a.article == art)).any(), art
    for art in (434, 437, 440, 442):
        assert ((a.code == "KoAP") & (a.article == art)).any(), art


def test_every_row_looks_itself_up():
    a = tx.articles()
    refs = [("КоАП " if c == "KoAP" else "ст. ") + f"{x} ч.{p}" for c, x, p in zip(a.code, a.article, a.part, strict=False)]
    got = tx.lookup_articles(refs)
    assert list(got["category"]) == list(a["category"])
    assert list(got["severity_class"]) == list(a["severity_class"])


@pytest.mark.parametrize("text,expected", [
    ("188 ч.2", ("UK", 188, 2)), ("188-2", ("UK", 188, 2)), ("ст. 191 ч. 1 УК РК", ("UK", 191, 1)),
    ("КоАП 440", ("KoAP", 440, 1)), ("192", ("UK", 192, 1)), ("нет статьи", None), (None, None),
])
def test_parse_article(text, expected):
    assert tx.parse_article(text) == expected


def test_unknown_part_falls_back_and_unknown_article_is_none():
    got = tx.lookup_articles(["188 ч.9", "777 ч.1"])
    assert got.loc[0, "category"] == "theft" and got.loc[0, "part"] == 9
    assert got.loc[1, "category"] is None


def test_place_types_match_domain():
    p = tx.place_types()
    assert list(p.place_type) == ["street_square_park", "mall_shop_market", "entertainment", "public_transport",
                                  "yard", "entrance_stairwell", "basement", "wasteland", "garage_dacha", "other"]
    assert p[["name_kk", "name_ru", "name_en"]].notna().all().all()
    assert np.isclose(p.demo_share.sum(), 1.0)
    # Concept shares of public-place crime (DOMAIN.md §2)
    s = dict(zip(p.place_type, p.demo_share, strict=False))
    assert s["street_square_park"] == 0.33 and s["mall_shop_market"] == 0.25


def test_harm_weights_are_monotone_and_configurable(tmp_path):
    w = tx.harm_weights()
    vals = [w[c] for c in tx.SEVERITY_CLASSES]
    assert vals == sorted(vals) and len(set(vals)) == len(vals)
    f = tmp_path / "w.csv"
    pd.DataFrame({"severity_class": tx.SEVERITY_CLASSES, "harm_weight": range(6)}).to_csv(f, index=False)
    assert tx.harm_weights(f)["grave"] == 4
    pd.DataFrame({"severity_class": ["grave"], "harm_weight": [1]}).to_csv(f, index=False)
    with pytest.raises(ValueError, match="missing severity classes"):
        tx.harm_weights(f)
