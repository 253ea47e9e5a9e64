"""Did it work?  Evaluation of one intervention (cameras, SOS buttons, lamps, any drawn area).

Entry point (stable interface, issue 18)::

    from qauipsiz.hotspot.evaluation import evaluate

    res = evaluate(events, treated, installed, *, city, before_months=12, after_months=6,
                   radius_m=150.0, ring_m=(150.0, 400.0), categories=None, dark_only=False, seed=0,
                   block_scores=None, placebo="composites", exclude=None)
    res.to_dict()     # JSON-safe
    res.text("ru")    # one paragraph in kk, ru or en

Arguments
---------
events : pandas.DataFrame
    ``occurred_at`` (tz-aware, or naive = UTC), ``lat``, ``lon`` (degrees WGS84), ``category``
    (needed only with ``categories``); ``is_dark`` is used with ``dark_only`` when present.  Extra
    columns are ignored.
treated : shapely geometry, WGS84 (lon, lat)
    Polygon/MultiPolygon as drawn, or Point/MultiPoint features buffered by ``radius_m`` metres.
installed : str or pandas.Timestamp
    Installation (switch-on) date; a naive date is local to the city.
city : qauipsiz.hotspot.cities.City
before_months, after_months : float
    Pre- and post-period lengths in months of 30.44 days (fractions allowed: 0.46 ≈ two weeks).
radius_m : float
    Buffer around point features, metres.
ring_m : (float, float)
    The displacement ring, metres from the points (for polygons: a band ``ring_m[1] − ring_m[0]``
    wide from the edge).
categories : list of str, optional
    Only these incident categories.
dark_only : bool
    Only incidents in the dark (sun below −6°) — for lighting.
seed : int
    Seed of the placebo composites (same seed, same answer).
intervention, place : str, optional
    Labels for the texts: ``cameras``, ``sos_buttons``, ``lamps`` or ``area``; a place name.
block_scores : BlockScores, optional
    Block scores (the CPTED score, :mod:`~qauipsiz.hotspot.evaluation.covariate`): comparison
    cells and pseudo-treated sites are also matched on the score.
placebo : str
    ``"composites"`` (random composites of comparison cells, the default) or ``"sites"``
    (pseudo-treated site sets drawn like the treated set; see ``docs/evaluation.md``).
exclude : shapely geometry, optional
    WGS84 places of other interventions: kept out of the comparison and of the placebo sites.

``to_dict()`` keys
------------------
``effect_pct`` (percent change of the treated area's counts against the matched comparison;
negative = fewer incidents), ``ci_low_pct``, ``ci_high_pct`` (95 % placebo interval, percent),
``p_value`` (two-sided placebo/permutation test), ``mde_pct`` (the smallest drop, percent, the
design detects with 80 % power at 5 %), ``decidable`` (False when ``mde_pct`` > 20: then
``effect_pct``, the interval, ``p_value``, ``wdq`` and ``synth_effect_pct`` are None and the text
says the data cannot decide), ``wdq`` (Bowers–Johnson weighted displacement quotient),
``wdq_reading`` (``displacement``, ``diffusion``, ``none`` or ``not_applicable``),
``synth_effect_pct`` (synthetic-control estimate, percent, or None when fewer than 8 pre-periods),
``series`` (list of ``{period, after, treated, comparison, ring}`` per month; ``comparison`` scaled
to the treated pre-period total), ``n_treated_cells`` (H3 res-9 cells holding incidents inside the
treated area), ``n_comparison`` (matched comparison cells), ``text`` ``{kk, ru, en}``, and also
``installed, before_months, after_months, radius_m, ring_m, categories, dark_only, counts,
se_log_poisson, n_placebo, ring_effect_pct, ring_ci_low_pct, ring_ci_high_pct, ring_p_value,
ring_mde_pct, treated_area_km2, ring_area_km2, placebo_design`` (``sites`` or ``composites``),
``placebo_centre_pct``, ``ring_placebo_centre_pct`` (the median null estimate, percent: how
comparable places changed against the comparison), ``match_cpted``.

Method in short (``docs/evaluation.md``): counts per month; comparison = H3 res-9 cells clear of
the treated area and ring (by 200 m), matched on pre-period level and trend; DiD on counts (ratio
of ratios = Poisson with unit and period effects); placebo composites of comparison cells give the
p-value, the interval and the minimum detectable effect (or, with ``placebo="sites"``,
pseudo-treated site sets drawn like the treated set, ``sites.py``); WDQ for the ring; synthetic
control beside.

Bad input raises ``ValueError`` naming the field.  For many evaluations on the same incidents,
prepare them once: ``prepare_events`` + ``build_areas`` + ``evaluate_prepared``.
"""
from __future__ import annotations

from qauipsiz.hotspot.evaluation.areas import Areas, EventTable, build_areas, prepare_events
from qauipsiz.hotspot.evaluation.covariate import BlockScores
from qauipsiz.hotspot.evaluation.engine import EvaluationResult, evaluate, evaluate_prepared

__all__ = ["Areas", "BlockScores", "EvaluationResult", "EventTable", "build_areas", "evaluate", "evaluate_prepared",
           "prepare_events"]
