"""Messages of the design review: a check reports a :class:`Message` (an id and its parameters); the
text in kk / ru / en comes from the catalogue ``cpted/rules/messages.yaml``, never from code."""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qauipsiz.cpted.norms import dori_levels

MESSAGES_PATH = Path(__file__).resolve().parents[1] / "rules" / "messages.yaml"
LANGS = ("kk", "ru", "en")


@dataclass(frozen=True)
class Message:
    """A message id from the catalogue and the values of its placeholders.

    Parameters that are lists of numbers are formatted by the check (e.g. ``"4.2, 0.0"``) and passed
    as text; ``kind`` and ``level`` are translated through the catalogue's terms.
    """

    id: str
    params: dict[str, Any] = field(default_factory=dict)


def msg(message_id: str, **params: Any) -> Message:
    """Shorthand for ``Message(message_id, params)``."""
    return Message(message_id, params)


@dataclass(frozen=True)
class Catalogue:
    """Message templates (``id → {lang: template}``) and term tables (``table → key → {lang: text}``)."""

    messages: dict[str, dict[str, str]]
    terms: dict[str, dict[str, dict[str, str]]]
    units: dict[str, dict[str, str]] = field(default_factory=dict)

    def human(self, value: float | None, unit: str, lang: str) -> str:
        """A measured or required value as the user reads it: ``"33 %"`` for a share of 0.333,
        ``"3,1 лк"`` (kk/ru decimal comma) or ``"3.1 lx"``, ``"20 m"``; ``"—"`` for ``None``."""
        if value is None:
            return "—"
        v = float(value)
        if unit == "share":
            v *= 100.0
        txt = f"{v:.0f}" if unit == "share" or abs(v - round(v)) < 0.05 else f"{v:.1f}"
        if lang in ("kk", "ru"):
            txt = txt.replace(".", ",")
        u = self.units.get(unit, {}).get(lang, unit)
        return f"{txt} {u}".strip()

    def text(self, m: Message, lang: str) -> str:
        """The message in ``lang`` (kk, ru or en); raises ``KeyError`` for an id not in the catalogue."""
        try:
            tpl = self.messages[m.id][lang]
        except KeyError:
            raise KeyError(f"review message {m.id!r} ({lang}) is not in {MESSAGES_PATH.name}") from None
        vals = {k: self.terms.get(k, {}).get(str(v), {}).get(lang, v) for k, v in m.params.items()}
        return tpl.format(**vals)

    def localise(self, m: Message) -> dict[str, str]:
        """``{"kk": …, "ru": …, "en": …}`` for a message."""
        return {lang: self.text(m, lang) for lang in LANGS}


def placeholders(template: str) -> set[str]:
    """Names of the ``{placeholders}`` in a template."""
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read and check a message catalogue (default ``cpted/rules/messages.yaml``) and add the DORI level names.

    Raises ``ValueError`` naming the message when a language is missing or the languages of one message
    use different placeholders.
    """
    p = Path(path or MESSAGES_PATH)
    cfg = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    messages = cfg.get("messages") or {}
    for mid, tr in messages.items():
        miss = [lang for lang in LANGS if not (tr or {}).get(lang)]
        if miss:
            raise ValueError(f"message catalogue {p}: message {mid!r} has no {', '.join(miss)} text")
        names = {lang: placeholders(tr[lang]) for lang in LANGS}
        if len({frozenset(v) for v in names.values()}) > 1:
            raise ValueError(f"message catalogue {p}: message {mid!r} uses different placeholders per language: {names}")
    terms = {k: dict(v) for k, v in (cfg.get("terms") or {}).items()}
    lv = dori_levels()
    terms["level"] = {r.level: {"kk": r.name_kk, "ru": r.name_ru, "en": r.name_en} for r in lv.itertuples()}
    units = {k: dict(v) for k, v in (cfg.get("units") or {}).items()}
    return Catalogue(messages, terms, units)

