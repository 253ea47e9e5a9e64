"""The rule registry: checks register under a name with :func:`check`; a rule set (YAML) names the
check each rule runs, its parameters, title and source.  Each check returns an :class:`Outcome`."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from qauipsiz.cpted.review.design import Design
from qauipsiz.cpted.review.messages import Message

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
PASS, FAIL, NOT_CHECKABLE = "PASS", "FAIL", "NOT_CHECKABLE"


@dataclass
class Outcome:
    """What a check found for one rule.

    Attributes
    ----------
    status : str
        ``PASS``, ``FAIL`` or ``NOT_CHECKABLE``.
    measured, required : float or None
        The worst measured value and the required one, in ``unit``.
    unit : str
        ``lx``, ``m`` or ``share``.
    message : Message
        The detail, as a message id of ``cpted/rules/messages.yaml`` with its parameters.
    failing : array of shapely geometries (metric CRS) or None
        What fails, when the rule fails.
    """

    status: str
    measured: float | None
    required: float | None
    unit: str
    message: Message
    failing: np.ndarray | None = None

    @classmethod
    def not_checkable(cls, required, unit: str, message: Message) -> Outcome:
        """The design lacks what the rule needs (``message`` says what)."""
        return cls(NOT_CHECKABLE, None, required, unit, message)

    @classmethod
    def judge(cls, bad, geoms, measured, required, unit: str, message: Message) -> Outcome:
        """FAIL when any of the boolean mask ``bad`` is set (failing = ``geoms[bad]``), else PASS."""
        bad = np.asarray(bad, bool)
        return cls(FAIL if bad.any() else PASS, measured, required, unit, message,
                   np.asarray(geoms, dtype=object)[bad] if bad.any() else None)


Check = Callable[[Design, dict[str, Any], pd.DataFrame], Outcome]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    """Register a check function under ``name`` (the ``check:`` of a rule in the YAML rule set).

    The function takes ``(design, params, norms)``: the :class:`Design`, the rule's ``params`` dict and
    the lighting norm table, and returns an :class:`Outcome`.
    """

    def register(fn: Check) -> Check:
        if name in CHECKS and CHECKS[name] is not fn:
            raise ValueError(f"review check {name!r} is registered twice ({CHECKS[name].__module__}, {fn.__module__})")
        CHECKS[name] = fn
        return fn

    return register


def load_rules(path: str | Path | None = None) -> list[dict]:
    """Rule set from YAML (``rules: [{id, check, params, title, source}]``); default ``cpted/rules/default.yaml``."""
    cfg = yaml.safe_load(Path(path or RULES_DIR / "default.yaml").read_text(encoding="utf-8"))
    rules = cfg.get("rules") or []
    for i, r in enumerate(rules):
        for k in ("id", "check", "source"):
            if not r.get(k):
                raise ValueError(f"rule set {path}: rule {i} has no {k!r}")
        if r["check"] not in CHECKS:
            raise ValueError(f"rule {r['id']}: unknown check {r['check']!r}; known: {', '.join(CHECKS)}")
    return rules
