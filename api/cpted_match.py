"""The block CPTED score as a matching covariate of an evaluation (``--match-cpted``, ``match_cpted``).

``hotspot.evaluation`` takes place scores as plain polygons and numbers
(:class:`qauipsiz.hotspot.evaluation.covariate.BlockScores`); this module makes them from the
city's CPTED block scores (``cpted.score.score_blocks``) and refuses, naming the reason, when the
city has none: no CPTED layer in the store, or scores that do not vary from block to block.
"""
from __future__ import annotations

import numpy as np

CPTED_LAYERS = ("lamps", "cameras", "buildings", "entrances", "fences", "landuse")
"""Layers the block score is made from; a city with none of them has no CPTED scores."""


def check_cpted_layers(city: str, layers: dict) -> list[str]:
    """The CPTED layers the city has loaded; ``ValueError`` (``match_cpted: … has no CPTED scores``)
    when it has none."""
    present = [k for k in CPTED_LAYERS if layers.get(k) is not None and len(layers[k])]
    if not present:
        raise ValueError(f"match_cpted: city {city!r} has no CPTED scores: none of the layers "
                         f"{', '.join(CPTED_LAYERS)} is loaded; import them (e.g. qauipsiz city import-osm) "
                         "or evaluate without matching on the CPTED score")
    return present


def cpted_block_scores(city: str, layers: dict, scored=None):
    """The city's block CPTED scores (0–100) for matching.

    Parameters
    ----------
    city : str
        City key.
    layers : dict of GeoDataFrame
        The city's layers (as the store or a layers folder gives them).
    scored : GeoDataFrame, optional
        Already scored blocks (``score`` column, EPSG:4326), e.g. the service's cached ones;
        default: ``cpted.score.score_blocks(city, layers)``.

    Returns
    -------
    qauipsiz.hotspot.evaluation.covariate.BlockScores

    Raises
    ------
    ValueError
        ``match_cpted: …`` when the city has no CPTED layer or its scores do not vary.
    """
    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.hotspot.evaluation.covariate import BlockScores

    check_cpted_layers(city, layers)
    if scored is None:
        from qauipsiz.cpted.score import score_blocks

        scored = score_blocks(city, layers)
    s = np.asarray(scored["score"], float) if len(scored) else np.empty(0)
    fin = s[np.isfinite(s)]
    if len(fin) < 2 or float(fin.std()) == 0.0:
        raise ValueError(f"match_cpted: the CPTED block scores of city {city!r} do not vary "
                         f"({len(fin)} scored blocks), so they cannot be matched on")
    return BlockScores.from_wgs84(scored.geometry.values, s, get_city(city))
