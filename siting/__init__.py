"""siting: childcare (托育) gap audit and nursery siting on the road network.

The planner's process, one module per stage::

    load_project   siting.project / siting.load   layers, schema checks, WGS84
    network        siting.network                 OSM road graphs, snapping, OD matrices
    demand/audit   siting.demand / siting.audit   places needed and in reach, flags, deadlines
    optimise       siting.models / siting.optimize coverage models and proposed sites
    map/brief      siting.maps / siting.brief     Folium maps and the printable briefing
"""

from .config import Config, load_config
from .errors import ConfigError, DataError, ModelError, NetworkError, SitingError

__version__ = "0.1.0"

__all__ = [
    "Config",
    "ConfigError",
    "DataError",
    "ModelError",
    "NetworkError",
    "Project",
    "SitingError",
    "load_config",
    "load_project",
]


def __getattr__(name: str):
    # The project layer pulls in geopandas; importing siting.models alone (as the solver's child
    # process does) should not pay for it.
    if name in ("Project", "load_project"):
        from . import project

        return getattr(project, name)
    raise AttributeError(f"module 'siting' has no attribute {name!r}")
