"""qauipsiz (Қауіпсіз, "safe") — crime hot spots, CPTED scoring and siting for Kazakhstan's cities.

Subpackages (each is a top-level folder of the repository, mapped here by ``pyproject.toml``):

- :mod:`qauipsiz.hotspot` (``hotspot/``): incidents, geocoding, H3 binning, density, hot-spot statistics;
- :mod:`qauipsiz.cpted` (``cpted/``): layers, blocks, coverage, block scores, design review, siting;
- :mod:`qauipsiz.maps` (``maps/``): rendering (maps, rasters, labels, HTML reports);
- :mod:`qauipsiz.api` (``api/``): the application (CLI, service, store, settings);
- :mod:`qauipsiz.data` (``data/``): shipped data, read through :mod:`importlib.resources`.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qauipsiz")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
