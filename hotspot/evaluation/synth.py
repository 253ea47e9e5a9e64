"""Synthetic control (Abadie, Diamond and Hainmueller 2010) beside the DiD estimate.

Donors are random composites of comparison cells, each with about the treated unit's pre-period
total.  Non-negative weights summing to one are fitted so the weighted donors follow the treated
unit's pre-period counts (least squares, :func:`scipy.optimize.nnls` with the sum-to-one
constraint as a heavily weighted extra row); the effect is the treated post-period total against
the weighted donors' post-period total.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

MIN_PRE_PERIODS = 8


def synth_weights(target_pre: np.ndarray, donors_pre: np.ndarray) -> np.ndarray:
    """Non-negative donor weights summing to one that best reproduce ``target_pre``.

    Parameters
    ----------
    target_pre : ndarray, shape (P,)
        Treated counts per pre-period.
    donors_pre : ndarray, shape (P, J)
        Donor counts per pre-period.

    Returns
    -------
    ndarray, shape (J,)
    """
    scale = max(float(np.abs(donors_pre).max()), 1.0) * 100.0
    A = np.vstack([donors_pre, np.full((1, donors_pre.shape[1]), scale)])
    b = np.r_[target_pre, scale]
    w, _ = nnls(A, b, maxiter=50 * A.shape[1])
    s = w.sum()
    return w / s if s > 0 else np.full(len(w), 1.0 / len(w))


def synth_effect(target_pre: np.ndarray, target_post: np.ndarray, donors_pre: np.ndarray,
                 donors_post: np.ndarray) -> float | None:
    """Synthetic-control effect in percent, or None when the pre-period is too short.

    Parameters
    ----------
    target_pre, target_post : ndarray
        Treated counts per pre-period and per post-period.
    donors_pre, donors_post : ndarray, shape (P_pre, J), (P_post, J)
        Donor counts per period.

    Returns
    -------
    float or None
        ``100 (Σ target_post / Σ synthetic_post − 1)``; None with fewer than
        ``MIN_PRE_PERIODS`` pre-periods, no donors, or a zero synthetic post total.
    """
    if len(target_pre) < MIN_PRE_PERIODS or donors_pre.shape[1] == 0:
        return None
    w = synth_weights(target_pre, donors_pre)
    sp = float((donors_post @ w).sum())
    if sp <= 0:
        return None
    return 100.0 * (float(target_post.sum()) / sp - 1.0)
