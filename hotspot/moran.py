"""Local Moran's I (LISA) with HH/LL/HL/LH clusters, and global Moran's I."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy import stats

from qauipsiz.hotspot._inference import (
    bh_adjust,
    check_neighbours,
    check_w,
    check_y,
    choose_inference,
    conditional_permutation,
    split_diagonal,
    warn_permutations,
)
from qauipsiz.hotspot.gistar import AUTO_SEED, min_bh_discoveries


def _transform(off: sp.csr_matrix, transform: str) -> sp.csr_matrix:
    t = transform.lower()
    if t == "b":
        return off
    if t == "r":
        rs = np.asarray(off.sum(axis=1)).ravel()
        return sp.csr_matrix(sp.diags(1.0 / rs) @ off)
    raise ValueError(f"transform={transform!r}: use 'r' (row-standardised) or 'b' (binary/as given)")


@dataclass
class LocalMoranResult:
    """Result of :func:`local_moran`, one value per cell.

    Attributes
    ----------
    Is : ndarray
        Local Moran's I as esda's ``Moran_Local.Is``: ``(n−1)/n · z_i · Σ_j w_ij z_j`` with
        ``z`` standardised by the population standard deviation.
    z : ndarray
        z-score of Anselin's ``I_i = z_i Σ_j w_ij z_j`` under conditional randomisation
        (Sokal et al. 1998, eqs. A7–A8; esda's ``EIc``/``VIc``), or the permutation z with
        permutations.
    p, q : ndarray
        Two-sided p-value and its Benjamini–Hochberg adjustment.
    quad : ndarray of int
        1 HH, 2 LH, 3 LL, 4 HL (esda numbering), regardless of significance.
    cluster : ndarray of str
        ``"HH"``, ``"LL"``, ``"HL"``, ``"LH"`` where ``q < alpha``, else ``"ns"``.
    """

    Is: np.ndarray
    z: np.ndarray
    p: np.ndarray
    q: np.ndarray
    quad: np.ndarray
    cluster: np.ndarray
    significant: np.ndarray
    alpha: float
    permutations: int
    inference: str
    EIc: np.ndarray | None = None
    VIc: np.ndarray | None = None
    params: dict = field(default_factory=dict)
    reason: str = ""
    min_count: int = 0

    def summary(self) -> dict:
        """Cells per cluster label and which inference ran and why."""
        u, c = np.unique(self.cluster.astype(str), return_counts=True)
        out: dict = {str(a): int(b) for a, b in zip(u, c, strict=True)}
        out.update(inference=self.inference, permutations=int(self.permutations),
                   min_count=int(self.min_count), reason=self.reason)
        return out


def local_moran(y, w, *, transform: str = "r", permutations: int | None = None, seed=None,
                alpha: float = 0.05, inference: str = "auto", min_count: int = 0) -> LocalMoranResult:
    """Local Moran's I (Anselin 1995) with analytic or conditional-permutation inference.

    Parameters
    ----------
    y : array-like, shape (n,)
        Value per cell; n ≥ 30, not constant.
    w : scipy.sparse matrix, shape (n, n)
        Spatial weights (any diagonal is ignored).  Every cell needs a neighbour.
    transform : {"r", "b"}
        Row-standardise the weights (default, as esda) or use them as given.
    permutations : int, optional
        None (default): chosen by ``inference``.  0: analytic (conditional randomisation
        moments, normal approximation).  Otherwise the number of seeded conditional
        permutations (< 9,999 warns, see :func:`hotspot.gistar.gi_star`).
    seed : int, optional
    alpha : float
        FDR level for clusters.
    inference : {"auto", "analytic", "permutation"}
        As in :func:`hotspot.gistar.gi_star`: the default ``"auto"`` uses permutations with
        enough draws for BH at this n wherever the normal tail is inaccurate at the BH cut.
    min_count : int
        HH cells are reported only where the window (self + neighbours) holds at least this
        total of ``y``; 0 (default) applies no floor.

    Returns
    -------
    LocalMoranResult
    """
    y = check_y(y)
    n = len(y)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha}: must be in (0, 1)")
    min_count = int(min_count)
    off, _ = split_diagonal(check_w(w, n))
    check_neighbours(off)
    inference, permutations, reason = choose_inference(y, off, alpha, inference, permutations)
    if seed is None and reason.startswith("auto"):
        seed = AUTO_SEED  # the default output is reproducible
    wt = _transform(off, transform)
    z = y - y.mean()
    z = z / y.std()
    lag = wt @ z
    Ia = z * lag  # Anselin's I_i with m2 = 1
    Is = (n - 1) / n * Ia
    m2 = 1.0
    wi = np.asarray(wt.sum(axis=1)).ravel()
    wi2 = np.asarray(wt.multiply(wt).sum(axis=1)).ravel()
    EIc = -(z**2 * wi) / ((n - 1) * m2)
    VIc = (z / m2) ** 2 * (n / (n - 2)) * (wi2 - wi**2 / (n - 1)) * (m2 - z**2 / (n - 1))
    if permutations:
        warn_permutations(permutations, n)
        res = conditional_permutation(z, wt, permutations, seed)
        p = res["p"]
        zs = res["z_sim"] * np.sign(z)  # sign of I, not of the lag
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            zs = np.where(VIc > 0, (Ia - EIc) / np.sqrt(VIc), 0.0)
        p = 2.0 * stats.norm.sf(np.abs(zs))
    q = bh_adjust(p)
    quad = np.where(z > 0, np.where(lag > 0, 1, 4), np.where(lag > 0, 2, 3)).astype(np.int8)
    sig = q < alpha
    if min_count > 0:
        sig &= ~((quad == 1) & ((off @ y + y) < min_count))
    labels = np.array(["ns", "HH", "LH", "LL", "HL"], dtype=object)  # esda's quadrants 1..4
    cluster = np.where(sig, labels[quad], "ns").astype(object)
    return LocalMoranResult(Is=Is, z=zs, p=p, q=q, quad=quad, cluster=cluster, significant=sig,
                            alpha=float(alpha), permutations=permutations, inference=inference,
                            EIc=EIc, VIc=VIc, reason=reason, min_count=min_count,
                            params={"n": n, "transform": transform, "permutations": permutations,
                                    "seed": seed, "alpha": float(alpha), "inference": inference,
                                    "reason": reason, "min_count": min_count,
                                    "min_bh_discoveries": min_bh_discoveries(n, permutations, alpha)})


@dataclass
class GlobalMoranResult:
    """Global Moran's I with moments under randomisation (Cliff & Ord); fields as in esda."""

    I: float  # noqa: E741
    EI: float
    VI_rand: float
    z_rand: float
    p_rand: float


def global_moran_from_sums(n: int, zz: float, cross: float, s0: float, s1: float, s2: float,
                           b2: float) -> GlobalMoranResult:
    """Moran's I from sufficient sums: ``cross = Σ_ij w_ij z_i z_j``, ``zz = Σ z_i²``, S0/S1/S2 as
    in Cliff & Ord, ``b2`` the kurtosis ``n Σz⁴ / (Σz²)²``."""
    I = n / s0 * cross / zz  # noqa: E741
    EI = -1.0 / (n - 1)
    n2 = n * n
    num = n * ((n2 - 3 * n + 3) * s1 - n * s2 + 3 * s0**2) - b2 * ((n2 - n) * s1 - 2 * n * s2 + 6 * s0**2)
    den = (n - 1) * (n - 2) * (n - 3) * s0**2
    VI = num / den - EI**2
    z = (I - EI) / np.sqrt(VI) if VI > 0 else 0.0
    return GlobalMoranResult(I=float(I), EI=EI, VI_rand=float(VI), z_rand=float(z),
                             p_rand=float(2 * stats.norm.sf(abs(z))))


def global_moran(y, w) -> GlobalMoranResult:
    """Global Moran's I of ``y`` with weights ``w`` used as given (diagonal ignored).

    ``z_rand`` and ``p_rand`` (two-sided) follow the randomisation assumption, as esda's
    ``Moran(y, w, transformation='b')``'s attributes of the same names.
    """
    y = check_y(y)
    n = len(y)
    off, _ = split_diagonal(check_w(w, n))
    z = y - y.mean()
    zz = float(z @ z)
    cross = float(z @ (off @ z))
    s0 = float(off.sum())
    sym = off + off.T
    s1 = float(sym.multiply(sym).sum()) / 2.0
    s2 = float(((np.asarray(off.sum(axis=1)).ravel() + np.asarray(off.sum(axis=0)).ravel()) ** 2).sum())
    b2 = n * float((z**4).sum()) / zz**2
    return global_moran_from_sums(n, zz, cross, s0, s1, s2, b2)
