"""Weighted displacement quotient (Bowers and Johnson 2003, Journal of Quantitative Criminology 19(3)).

With ``A`` the treated area, ``B`` the buffer (ring) and ``C`` the control area, counts before (0)
and after (1):

    success measure  SM  = A1/C1 − A0/C0        (negative: the treated area improved vs control)
    buffer measure   BM  = B1/C1 − B0/C0
    WDQ              = BM / SM

Reading (only meaningful when SM < 0, i.e. the intervention appears to have worked):

* WDQ > 1  — diffusion of benefit greater than the direct effect;
* 0 < WDQ ≤ 1 — diffusion of benefit into the buffer;
* WDQ = 0 — no displacement and no diffusion;
* −1 ≤ WDQ < 0 — displacement, smaller than the direct gain (net benefit);
* WDQ < −1 — displacement greater than the direct gain (the intervention backfired).

Point values this close to 0 are noise; :func:`reading` therefore also takes whether the ring's own
change (its DiD against its matched comparison) is statistically significant.
"""
from __future__ import annotations

import math

READINGS = ("displacement", "diffusion", "none", "not_applicable")


def wdq(a0: float, a1: float, b0: float, b1: float, c0: float, c1: float) -> float | None:
    """Weighted displacement quotient.

    Parameters
    ----------
    a0, a1 : float
        Treated-area counts before and after.
    b0, b1 : float
        Buffer (ring) counts before and after.
    c0, c1 : float
        Control-area counts before and after (must be > 0).

    Returns
    -------
    float or None
        ``(b1/c1 − b0/c0) / (a1/c1 − a0/c0)``; None when a control count is zero or the success
        measure is zero.
    """
    if c0 <= 0 or c1 <= 0:
        return None
    sm = a1 / c1 - a0 / c0
    if sm == 0:
        return None
    return (b1 / c1 - b0 / c0) / sm


def success_measure(a0: float, a1: float, c0: float, c1: float) -> float | None:
    """``a1/c1 − a0/c0`` (negative when the treated area improved relative to control)."""
    if c0 <= 0 or c1 <= 0:
        return None
    return a1 / c1 - a0 / c0


def reading(q: float | None, sm: float | None, ring_significant: bool) -> str:
    """``displacement``, ``diffusion``, ``none`` or ``not_applicable`` (no success to weigh).

    Parameters
    ----------
    q : float or None
        The WDQ.
    sm : float or None
        The success measure; the WDQ is read only when it is negative.
    ring_significant : bool
        Whether the ring's own change is significant at 5 %; when not, the reading is ``none``.
    """
    if q is None or sm is None or not math.isfinite(q) or sm >= 0:
        return "not_applicable"
    if not ring_significant or q == 0:
        return "none"
    return "displacement" if q < 0 else "diffusion"
