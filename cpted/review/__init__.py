"""Design review: check a site design (GeoJSON) against a YAML rule set of crime-prevention norms.

Each rule of the set (``cpted/rules/default.yaml``, or a city's own file) names a registered check, its
parameters, title and source.  A check returns ``PASS``, ``FAIL`` or ``NOT_CHECKABLE`` with the measured
and required values, a message id (text in kk / ru / en from ``cpted/rules/messages.yaml``) and, when it
fails, the failing geometry (GeoJSON, EPSG:4326 in the result).

Modules
-------
design
    The design GeoJSON convention, :func:`load_design`, :class:`Design`.
registry
    :func:`check` (register a check function), ``CHECKS``, :class:`Outcome`, :func:`load_rules`.
messages
    :class:`Message` and the kk / ru / en catalogue.
measure
    Measurements shared by the checks (illuminance field, cameras, occluder, path points).
checks_lighting, checks_surveillance, checks_access
    The checks themselves.
run
    :func:`review`, :func:`to_json`.

A new norm rule is a function decorated with ``@check("<name>")`` in one of the ``checks_*`` modules
and an entry in the YAML rule set naming it (``check: <name>``), plus the kk / ru / en text of any new
message id in ``cpted/rules/messages.yaml``.
"""
from __future__ import annotations

# The check modules register themselves in CHECKS when imported.
from qauipsiz.cpted.review import checks_access, checks_lighting, checks_surveillance  # noqa: F401
from qauipsiz.cpted.review.checks_access import check_entrance_access
from qauipsiz.cpted.review.checks_lighting import (
    check_entrance_lighting,
    check_path_lighting,
    check_unlit_path_run,
    check_zone_lighting,
)
from qauipsiz.cpted.review.checks_surveillance import (
    check_cameras_cou,
    check_entrance_camera,
    check_playground_overlook,
    check_zone_camera,
)
from qauipsiz.cpted.review.design import KINDS, NUMERIC, Design, load_design
from qauipsiz.cpted.review.measure import lamp_arrays, lux_field
from qauipsiz.cpted.review.messages import Message, load_catalogue, msg
from qauipsiz.cpted.review.registry import (
    CHECKS,
    FAIL,
    NOT_CHECKABLE,
    PASS,
    RULES_DIR,
    Outcome,
    check,
    load_rules,
)
from qauipsiz.cpted.review.run import review, to_json

__all__ = [
    "CHECKS", "FAIL", "KINDS", "NOT_CHECKABLE", "NUMERIC", "PASS", "RULES_DIR", "Design", "Message", "Outcome",
    "check", "check_cameras_cou", "check_entrance_access", "check_entrance_camera", "check_entrance_lighting",
    "check_path_lighting", "check_playground_overlook", "check_unlit_path_run", "check_zone_camera",
    "check_zone_lighting", "lamp_arrays", "load_catalogue", "load_design", "load_rules", "lux_field", "msg",
    "review", "to_json",
]
