"""qauipsiz.maps — rendering only: folium maps, rasters, legends and kk/ru/en labels."""
