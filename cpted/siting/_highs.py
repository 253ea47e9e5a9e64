"""HiGHS plumbing for the exact siting models: a quiet solver object and a sparse MILP handed over row-wise."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class HighsOptions:
    """HiGHS settings of the exact models (:func:`mclp_exact`, :func:`lscp_exact`, :func:`p_median`).

    Parameters
    ----------
    mip_rel_gap : float
        Relative MIP gap at which HiGHS stops (0 = prove optimality).
    threads : int, optional
        Threads HiGHS may use (default: HiGHS's own choice).
    """

    mip_rel_gap: float = 0.0
    threads: int | None = None


def _quiet_highs():
    """A ``highspy.Highs`` whose one-time start-up banner does not reach stdout (it would break
    ``--json`` output): fd 1 points to /dev/null while the object is created."""
    import os
    import sys

    import highspy

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # captured / replaced stdout: nothing to protect
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            return highspy.Highs()
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _highs(time_limit: float, options: HighsOptions | None = None):
    """A quiet HiGHS with a time limit in seconds and ``options`` (default :class:`HighsOptions`)."""
    o = options or HighsOptions()
    h = _quiet_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(o.mip_rel_gap))
    if o.threads:
        h.setOptionValue("threads", int(o.threads))
    return h


def _pass_milp(h, columns: tuple, rows: tuple, sense_max: bool):
    """Hand a MILP to HiGHS ``h``: ``columns = (cost, lower, upper, is_integer)`` per variable,
    ``rows = (A_rows, row_lower, row_upper)`` with ``A_rows`` a sparse matrix (rows × variables)."""
    import highspy

    c, lo, hi, integrality = columns
    A_rows, row_lo, row_hi = rows
    lp = highspy.HighsLp()
    A_rows = sp.csr_matrix(A_rows)
    n_col = len(c)
    lp.num_col_ = n_col
    lp.num_row_ = A_rows.shape[0]
    lp.col_cost_ = np.asarray(c, float)
    lp.col_lower_ = np.asarray(lo, float)
    lp.col_upper_ = np.asarray(hi, float)
    lp.row_lower_ = np.asarray(row_lo, float)
    lp.row_upper_ = np.asarray(row_hi, float)
    lp.sense_ = highspy.ObjSense.kMaximize if sense_max else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = A_rows.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A_rows.indices.astype(np.int32)
    lp.a_matrix_.value_ = A_rows.data.astype(float)
    lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous
                       for b in integrality]
    h.passModel(lp)
