"""Building a blueprint from the databases a city has (三调, 国土空间规划 "一张图", departments'
shapefiles): presets recognise layers and fields, the build repairs and reports, writes
GeoParquet with a metadata file per layer, and stamps a version; ``diff`` compares two builds.

- :mod:`geo.build.presets`: the data standards' layer and field names (``layers/presets``);
- :mod:`geo.build.sources`: File Geodatabases, shapefiles (encodings), GeoPackage, GeoJSON;
- :mod:`geo.build.build`: sources → one blueprint directory, written whole or not at all;
- :mod:`geo.build.report`: what the build did (``build.json``, ``<id>.meta.json``);
- :mod:`geo.build.diff`: what changed per layer between two blueprints.
"""

from geo.build.build import build_blueprint
from geo.build.report import BuildReport

__all__ = ["BuildReport", "build_blueprint"]
