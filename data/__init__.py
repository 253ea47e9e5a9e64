"""qauipsiz.data — shipped data (boundaries, taxonomy, streets, gazetteers, designs, population).

Read through :func:`qauipsiz.hotspot.paths.data_dir`; a user's own data lives in ``QAUIPSIZ_DATA_DIR``.
"""
