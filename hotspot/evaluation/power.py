"""Minimum detectable effect: can this design see a 20 % change at all?

The noise of the DiD estimate is measured by the spread of the placebo estimates (``se_null``,
log scale).  With a two-sided 5 % test and 80 % power the smallest true change the design detects
is ``(z_0.975 + z_0.8) · se_null`` on the log scale, reported as the percent drop
``100 · (1 − exp(−mde))``.  An evaluation is *decidable* when that drop is at most
``target_pct`` (20 % by default) and the placebo distribution exists; otherwise no effect is
reported, only the MDE.
"""
from __future__ import annotations

import numpy as np

Z_ALPHA = 1.959963984540054  # two-sided 5 %
Z_POWER = 0.8416212335729143  # 80 % power
TARGET_PCT = 20.0


def mde_log(se_null: float, alpha_z: float = Z_ALPHA, power_z: float = Z_POWER) -> float:
    """Minimum detectable effect on the log scale.

    Parameters
    ----------
    se_null : float
        Standard deviation of the estimate under no effect (log scale).
    alpha_z, power_z : float
        Normal quantiles of the test (two-sided 5 %) and of the power (80 %).

    Returns
    -------
    float
        ``(alpha_z + power_z) * se_null``.
    """
    return float((alpha_z + power_z) * se_null)


def mde_pct(mde: float) -> float:
    """A log-scale MDE as the detectable drop in percent: ``100 (1 − exp(−mde))``."""
    return float(100.0 * (1.0 - np.exp(-mde)))


def decidable(mde: float | None, target_pct: float = TARGET_PCT) -> bool:
    """True when a change of ``target_pct`` percent would be detected (80 % power, 5 % test)."""
    return mde is not None and np.isfinite(mde) and mde_pct(mde) <= target_pct
