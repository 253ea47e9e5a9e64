"""A place covariate for matching: block scores (e.g. the CPTED block score) looked up at points.

``hotspot`` does not compute CPTED scores (that is ``cpted.score``); the caller hands the scored
blocks in as plain geometries and numbers, and the evaluation adds the score to the matching of
comparison cells and to the strata of pseudo-treated sites.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from qauipsiz.hotspot.cities import City


@dataclass(frozen=True)
class BlockScores:
    """Block polygons (metres, the city's UTM) with one score each; the score at a point is that of
    the block containing it, else of the nearest block within ``max_gap_m``, else NaN."""

    blocks: np.ndarray  # shapely polygons, metric
    scores: np.ndarray  # float per block
    max_gap_m: float = 250.0

    @classmethod
    def from_wgs84(cls, geometries, scores, city: City, max_gap_m: float = 250.0) -> BlockScores:
        """Blocks given in WGS84 (lon, lat) with their scores.

        Parameters
        ----------
        geometries : sequence of shapely geometries
            Block polygons, WGS84 degrees.
        scores : sequence of float
            One score per block (e.g. CPTED 0–100); NaN blocks are dropped.
        city : City
            Gives the metric CRS.
        max_gap_m : float
            A point farther than this from every block has no score (metres).

        Returns
        -------
        BlockScores
        """
        g = np.asarray(list(geometries), dtype=object)
        s = np.asarray(scores, float)
        if len(g) != len(s):
            raise ValueError(f"block scores: {len(g)} geometries but {len(s)} scores")
        ok = np.isfinite(s) & ~shapely.is_empty(g) & ~shapely.is_missing(g)
        if not ok.any():
            raise ValueError("block scores: no block has a finite score")
        metric = shapely.transform(g[ok], lambda xy: np.c_[city.to_metric(xy[:, 0], xy[:, 1])])
        return cls(np.asarray(metric, dtype=object), s[ok], float(max_gap_m))

    def at(self, x, y) -> np.ndarray:
        """Score at metric points ``(x, y)`` (metres); NaN where no block is within ``max_gap_m``."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        out = np.full(len(x), np.nan)
        if len(x) == 0:
            return out
        tree = shapely.STRtree(self.blocks)
        pts = shapely.points(x, y)
        i_pt, i_blk = tree.query_nearest(pts, max_distance=self.max_gap_m, all_matches=False)
        out[i_pt] = self.scores[i_blk]
        return out

    def mean_at(self, x, y) -> float:
        """Mean score over metric points (the sites of a treated area); NaN when none has a score."""
        v = self.at(x, y)
        return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
