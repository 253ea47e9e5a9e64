"""Options of the recommenders: one small frozen dataclass per kind of site.

Every recommender takes ``options`` (an instance of its class) and, for compatibility, the same
fields as keyword arguments, which override the ``options`` given::

    recommend_cameras("astana", inc, layers, 20, CameraOptions(fov_deg=90, exact=False))
    recommend_cameras("astana", inc, layers, 20, fov_deg=90, exact=False)   # the same
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import TypeVar


@dataclass(frozen=True, kw_only=True)
class SolveOptions:
    """How the siting model is solved and reported; shared by every recommender.

    Attributes
    ----------
    phases : int or sequence of int, optional
        Number of equal budget phases, or phase sizes (default 3 phases when the budget is ≥ 6).
    method : {"greedy", "exact"}
        Which answer to return; the greedy one is nested (each phase extends the previous one).
    exact : bool
        Also solve the exact MILP and report the greedy optimality gap (``attrs["summary"]``).
    time_limit : float
        Seconds for HiGHS.
    lang : {"kk", "ru", "en"}
        Language of the ``reason`` column (``reason_kk/ru/en`` are always filled).
    """

    phases: int | Sequence[int] | None = None
    method: str = "greedy"
    exact: bool = True
    time_limit: float = 30.0
    lang: str = "ru"


@dataclass(frozen=True, kw_only=True)
class CameraOptions(SolveOptions):
    """Options of :func:`~qauipsiz.cpted.siting.recommend_cameras`.

    Attributes
    ----------
    n_bearings : int
        Bearings tried per site without a fixed bearing (8 → every 45°).
    fov_deg, resolution_px, level
        The new cameras' horizontal field of view (degrees), horizontal resolution (pixels) and
        the DORI level (IEC 62676-4) that counts as "covered".
    res : int
        H3 resolution of the demand cells.
    spacing_m : float
        Spacing of the default candidate points along streets, metres.
    include_repairs : bool
        Broken cameras become "repair" candidates.
    coverage_fn : callable, optional
        ``f(camera_xy, bearing_deg, fov_deg, resolution_px, level, target_xy, buildings)`` →
        sparse coverage; default :func:`cpted.cameras.coverage_matrix` (the CPTED camera model).
    """

    n_bearings: int = 8
    fov_deg: float = 60.0
    resolution_px: int = 2560
    level: str = "observe"
    res: int = 11
    spacing_m: float = 40.0
    include_repairs: bool = True
    coverage_fn: Callable | None = None


@dataclass(frozen=True, kw_only=True)
class SosOptions(SolveOptions):
    """Options of :func:`~qauipsiz.cpted.siting.recommend_sos`.

    Attributes
    ----------
    radius_m : float
        Walking distance along the street network, metres.
    mode : {"max", "cover"}
        ``"max"`` — budgeted maximal covering; ``"cover"`` — the fewest buttons covering every busy place.
    res : int
        H3 resolution of the demand cells.
    dark_factor : float
        Weight of an incident after dark relative to one in daylight.
    """

    radius_m: float = 300.0
    mode: str = "max"
    res: int = 11
    dark_factor: float = 2.0


@dataclass(frozen=True, kw_only=True)
class PostOptions(SolveOptions):
    """Options of :func:`~qauipsiz.cpted.siting.recommend_posts`.

    Attributes
    ----------
    kind : {"posts", "offices"}
        Modular police posts (maximal covering on foot) or inspector offices (p-median).
    radius_m : float
        Walking distance a post covers, metres (300–500 m).
    res : int, optional
        H3 resolution of the demand cells (default 10 for posts, 8 for offices).
    crime_share : float
        Share of crime (vs. the population proxy) in the demand, 0..1.
    inspectors_per_office : int
        Inspectors sharing one office (for the residents-per-inspector load).
    distance : {"network", "euclidean"}
        Distance used by the p-median.
    candidate_spacing_m : float, optional
        Thinning of candidate intersections, metres (default 150 for posts, 600 for offices).
    time_limit : float
        Seconds for HiGHS (default 60).
    """

    kind: str = "posts"
    radius_m: float = 500.0
    res: int | None = None
    crime_share: float = 0.5
    inspectors_per_office: int = 1
    distance: str = "network"
    candidate_spacing_m: float | None = None
    time_limit: float = 60.0


Opt = TypeVar("Opt", bound=SolveOptions)


def resolve_options(cls: type[Opt], options: Opt | None, overrides: dict, caller: str) -> Opt:
    """``options`` (default ``cls()``) with the keyword ``overrides`` applied; TypeError on a
    keyword that is no field of ``cls`` or on ``options`` of another type, as a Python call would."""
    if options is None:
        options = cls()
    elif not isinstance(options, cls):
        raise TypeError(f"{caller}() options: expected {cls.__name__}, got {type(options).__name__}")
    names = {f.name for f in fields(cls)}
    for key in overrides:
        if key not in names:
            raise TypeError(f"{caller}() got an unexpected keyword argument {key!r}")
    return replace(options, **overrides) if overrides else options
