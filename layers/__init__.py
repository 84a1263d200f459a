"""lantu's data (layer catalog, 三调 class table, profiles, standards, demo recipe), shipped as ``geo.layers``."""
