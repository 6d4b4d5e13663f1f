"""Defaults of the network stage, in one place. Override per call, not by editing."""

from __future__ import annotations

NETWORK_TYPES = ("walk", "drive")

WALK_SPEED_KMH = 4.5  # on every walkable road, and for snap legs (walked straight to the road)

# km/h by OSM highway class; "_link" classes fall back to their parent class, anything
# unlisted to "default". Walking speed does not depend on the road class.
DEFAULT_SPEEDS: dict[str, dict[str, float]] = {
    "walk": {"default": WALK_SPEED_KMH},
    "drive": {
        "motorway": 80.0,
        "trunk": 60.0,
        "primary": 50.0,
        "secondary": 40.0,
        "tertiary": 30.0,
        "unclassified": 25.0,
        "residential": 20.0,
        "living_street": 10.0,
        "service": 15.0,
        "default": 20.0,
    },
}
DEFAULT_BUFFER = 500.0  # metres kept around a clip polygon, so paths may leave and re-enter it
DEFAULT_MAX_SNAP = 500.0  # metres: farther from any road than this is a data problem, not access
SERVICE_AREA_BUFFER = 35.0  # metres either side of a reached road: about a block face
CHUNK_BYTES = 16 * 2**20  # scipy's dense (sources x nodes) block: small blocks stay in cache and run faster
MAX_CHUNK = 64  # sources per Dijkstra call on small graphs: a block of about 1 MB (demo) was 10 % faster than 5 MB
_CACHE_KEY = "siting_cache"
REPORT_KEY = "siting_report"

# Way filters mirroring osmnx's "walk" and "drive_service" Overpass filters, so a graph
# read from a file matches one downloaded for the same area.
_EXCLUDE_HIGHWAY = {
    "walk": {
        "abandoned", "bus_guideway", "construction", "cycleway", "motorway", "motorway_link",
        "no", "planned", "platform", "proposed", "raceway", "razed", "rest_area", "services",
    },
    "drive": {
        "abandoned", "bridleway", "bus_guideway", "construction", "corridor", "cycleway",
        "elevator", "escalator", "footway", "no", "path", "pedestrian", "planned", "platform",
        "proposed", "raceway", "razed", "rest_area", "services", "steps", "track",
    },
}
_EXCLUDE_TAGS = {
    "walk": {
        "foot": {"no"},
        "service": {"private"},
        "sidewalk": {"separate"},
        "sidewalk:both": {"separate"},
        "sidewalk:left": {"separate"},
        "sidewalk:right": {"separate"},
    },
    "drive": {
        "motor_vehicle": {"no"},
        "motorcar": {"no"},
        "service": {"emergency_access", "parking", "parking_aisle", "private"},
    },
}
_ALLOWED_VALUES = {"yes", "designated", "permissive", "destination"}
_OSMNX_NETWORK_TYPE = {"walk": "walk", "drive": "drive_service"}
_ONEWAY_VALUES = {"yes", "true", "1", "-1", "reverse", "T", "F"}
_REVERSED_VALUES = {"-1", "reverse", "T"}
