"""Public counts: suppression below k, rounding of the rest, and what rounding does to differencing."""
from __future__ import annotations

import numpy as np
import pandas as pd

from qauipsiz.api.routers.public import district_indicators, round_counts, suppress


def test_round_counts():
    n = np.array([0, 1, 2, 3, 4, 5, 7, 8, 12, 13, 102])
    assert round_counts(n, 5).tolist() == [0, 5, 5, 5, 5, 5, 5, 10, 10, 15, 100]
    assert round_counts(n, 1).tolist() == n.tolist()


def test_differencing_a_suppressed_year_gives_a_range_not_the_count():
    """All years minus one year: exact counts reveal the suppressed year, rounded ones do not."""
    years = {2024: 3, 2025: 101}  # 2024's 3 incidents are suppressed when asked for directly
    total = sum(years.values())
    k = 5
    assert suppress([years[2024]], k)[0]
    exact = total - years[2025]
    assert exact == years[2024]  # the leak without rounding
    shown_total, shown_2025 = round_counts([total, years[2025]], 5)
    guess = int(shown_total - shown_2025)
    # with rounding, every hidden count 1..4 is consistent with what was shown
    consistent = [h for h in range(1, k) if round_counts([h + years[2025]], 5)[0] == shown_total]
    assert guess == 5 and len(consistent) >= 3


def test_district_indicators_exact_when_rounding_is_off():
    from qauipsiz.hotspot.cities import get_city

    d = get_city("astana").districts["district"].tolist()
    sub = pd.DataFrame({"district": [d[0]] * 12 + [d[1]] * 3, "category": ["theft"] * 15,
                        "is_dark": [True] * 6 + [False] * 9})
    exact = {r.district: r for r in district_indicators(sub, "astana", 5, 1)}
    assert exact[d[0]].count == 12 and exact[d[0]].dark_share == 0.5 and exact[d[1]].suppressed
    rounded = {r.district: r for r in district_indicators(sub, "astana", 5, 5)}
    assert rounded[d[0]].count == 10 and rounded[d[0]].by_group == {"violent": None, "property": 10, "street": 10}
    assert rounded[d[1]].count is None and rounded[d[2]].count is None  # zero is suppressed like 1-4


def test_public_and_hotspot_outputs_say_when_data_is_synthetic(client, headers):
    """The session store holds the demo city (source 'demo'): every public output says it is invented."""
    api = "/api/v1"
    for path in ("/public/cities/astana/districts", "/public/cities/astana/districts.geojson",
                 "/public/cities/astana/cells.geojson"):
        assert "SYNTHETIC" in client.get(api + path).json()["notice"], path
    meta = client.get(api + "/cities/astana/hotspots.geojson", headers=headers["analyst"]).json()["meta"]
    assert "SYNTHETIC" in meta["notice"]
