"""National scale: a synthetic incident dataset for every city of the country (``generate``), its
cities (``centres``) and compact per-city columns for fast filtered hotspot tables (``columns``).

**The generated incidents are synthetic** (see :data:`generate.NOTICE`).
"""
