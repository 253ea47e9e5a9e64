"""Configuration of the CPTED block score: the ISO 22341 strategies, languages, and the weights and
fix texts of ``cpted/config/`` (``score_weights.yaml``, ``fixes.yaml``).
"""

from pathlib import Path

import yaml

CONFIG_DIR = Path(__file__).resolve().parent / "config"
STRATEGIES = ("natural_surveillance", "natural_access_control", "territorial_reinforcement",
              "image_maintenance", "activity_support", "target_hardening")
"""ISO 22341:2021 physical CPTED strategies, in the order of the sub-score columns."""
LANGS = ("kk", "ru", "en")
UNDEFINED_LANDUSE = ("wasteland", "garage_estate", "construction")


def load_weights(path: str | Path | None = None) -> dict:
    """Score weights and parameters (``strategies``, ``params``) from YAML; default the shipped file."""
    cfg = yaml.safe_load(Path(path or CONFIG_DIR / "score_weights.yaml").read_text(encoding="utf-8"))
    strat = cfg.get("strategies") or {}
    unknown = set(strat) - set(STRATEGIES)
    if unknown:
        raise ValueError(f"score weights {path}: unknown strategies {', '.join(sorted(unknown))}; "
                         f"use {', '.join(STRATEGIES)}")
    for s, v in strat.items():
        if float(v.get("weight", 0)) < 0 or any(float(w) < 0 for w in (v.get("components") or {}).values()):
            raise ValueError(f"score weights {path}: negative weight in {s}")
    return cfg


def load_fix_texts(path: str | Path | None = None) -> dict:
    """Fix templates per component in kk/ru/en (``cpted/config/fixes.yaml``)."""
    return yaml.safe_load(Path(path or CONFIG_DIR / "fixes.yaml").read_text(encoding="utf-8"))

