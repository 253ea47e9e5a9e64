"""Siting: where to put the next cameras, SOS buttons, police posts and inspector offices.

=================  ===========================================================================
module             job
=================  ===========================================================================
``demand``         incidents cleaned and aggregated into H3 demand cells; footfall and population proxies
``candidates``     candidate sites: camera sites on streets, busy places, thinned intersections
``solvers``        lazy greedy (CELF), exact MCLP / LSCP and p-median by HiGHS (``_highs``: the plumbing)
``reasons``        kk/ru/en reason templates and their filling
``sites``          the ranked, phased site table every recommender returns
``options``        the recommenders' options dataclasses
``recommend``      the entry points :func:`recommend_cameras`, :func:`recommend_sos`, :func:`recommend_posts`
=================  ===========================================================================
"""
from __future__ import annotations

from qauipsiz.cpted.siting.candidates import busy_places, camera_candidates, intersection_candidates
from qauipsiz.cpted.siting.demand import (
    INDOOR_PLACE_TYPES,
    camera_demand,
    cell_demand,
    clean_incidents,
    footfall_proxy,
    population_proxy,
    sos_demand,
)
from qauipsiz.cpted.siting.options import CameraOptions, PostOptions, SolveOptions, SosOptions
from qauipsiz.cpted.siting.reasons import LANGS, REASONS
from qauipsiz.cpted.siting.recommend import (
    INSPECTOR_NORM,
    recommend_cameras,
    recommend_posts,
    recommend_sos,
)
from qauipsiz.cpted.siting.sites import SITE_COLUMNS
from qauipsiz.cpted.siting.solvers import (
    CoverResult,
    HighsOptions,
    PMedianResult,
    greedy_max_cover,
    greedy_set_cover,
    lscp_exact,
    mclp_exact,
    p_median,
    rank_picks,
)

__all__ = [
    "INDOOR_PLACE_TYPES",
    "INSPECTOR_NORM",
    "LANGS",
    "REASONS",
    "SITE_COLUMNS",
    "CameraOptions",
    "CoverResult",
    "HighsOptions",
    "PMedianResult",
    "PostOptions",
    "SolveOptions",
    "SosOptions",
    "busy_places",
    "camera_candidates",
    "camera_demand",
    "cell_demand",
    "clean_incidents",
    "footfall_proxy",
    "greedy_max_cover",
    "greedy_set_cover",
    "intersection_candidates",
    "lscp_exact",
    "mclp_exact",
    "p_median",
    "population_proxy",
    "rank_picks",
    "recommend_cameras",
    "recommend_posts",
    "recommend_sos",
    "sos_demand",
]
