"""qauipsiz.hotspot — incidents, taxonomy, geocoding, H3 binning, density and hot-spot statistics.

Pure library: no store, no network, no global state.  Takes and returns DataFrames and arrays.
"""
