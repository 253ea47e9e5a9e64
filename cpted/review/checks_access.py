"""Access-control checks (natural access control)."""
from __future__ import annotations

import pandas as pd

from qauipsiz.cpted.review.design import Design
from qauipsiz.cpted.review.messages import msg
from qauipsiz.cpted.review.registry import Outcome, check

CONTROLLED = ("intercom", "guarded", "locked")


@check("entrance_access")
def check_entrance_access(d: Design, params: dict, norms: pd.DataFrame | None = None) -> Outcome:
    """Every entrance has access control: intercom, guarded or locked."""
    ent = d["entrance"]
    if len(ent) == 0:
        return Outcome.not_checkable(1.0, "share", msg("no_entrances"))
    if "access" not in ent.columns or ent["access"].isna().any():
        return Outcome.not_checkable(1.0, "share", msg("entrances_lack_access"))
    ok = ent["access"].astype(str).str.lower().isin(list(CONTROLLED)).to_numpy()
    return Outcome.judge(~ok, d.geoms("entrance"), round(float(ok.mean()), 3), 1.0, "share",
                         msg("entrances_open", n=int((~ok).sum()), total=len(ent)))
