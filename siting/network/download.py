"""Road graphs downloaded with osmnx (Overpass), with a clear error when offline."""

from __future__ import annotations

from siting.errors import NetworkError
from siting.network.build import NetworkReport, _check_network_type, prepare_graph
from siting.network.settings import _OSMNX_NETWORK_TYPE

__all__ = ["graph_from_place", "graph_from_polygon", "graph_from_bbox"]


def _download(fetch, what: str, network_type, speeds, cache_folder, largest_component, **kwargs):
    import osmnx as ox
    import requests
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

    _check_network_type(network_type)
    saved = (ox.settings.use_cache, ox.settings.cache_folder)
    ox.settings.use_cache = True
    if cache_folder is not None:
        ox.settings.cache_folder = str(cache_folder)
    hint_en = (
        " If you are offline or the Overpass API is unavailable, download an OSM extract "
        "(.osm or .osm.pbf, e.g. from Geofabrik) and use graph_from_file(path, clip=study_area)."
    )
    hint_zh = "如处于离线状态或 Overpass 服务不可用，请下载 OSM 数据文件（.osm 或 .osm.pbf，如 Geofabrik），并使用 graph_from_file(path, clip=研究区)。"
    try:
        G = fetch(network_type=_OSMNX_NETWORK_TYPE[network_type], simplify=True, retain_all=True, **kwargs)
    except (requests.RequestException, ResponseStatusCodeError, ConnectionError, TimeoutError) as exc:
        raise NetworkError(
            f"Could not download the road network for {what}: {exc}.{hint_en}",
            f"无法下载{what}的路网：{exc}。{hint_zh}",
        ) from exc
    except InsufficientResponseError as exc:
        raise NetworkError(
            f"OpenStreetMap returned no road data for {what}: {exc}.{hint_en}",
            f"OpenStreetMap 未返回{what}的道路数据：{exc}。{hint_zh}",
        ) from exc
    finally:
        ox.settings.use_cache, ox.settings.cache_folder = saved
    report = NetworkReport(source=f"osmnx download: {what}", network_type=network_type)
    return prepare_graph(G, network_type, speeds, largest_component=largest_component, report=report)


def graph_from_place(query, network_type: str = "walk", speeds=None, *, cache_folder=None, largest_component=True, **kwargs):
    """Download the road graph of a named place with osmnx (cache on).

    Parameters
    ----------
    query : str or dict
        A Nominatim query, e.g. ``"Lanshan District, Rizhao, Shandong, China"``.
    network_type, speeds, largest_component
        As in :func:`graph_from_file`.
    cache_folder : str or Path, optional
        osmnx's HTTP cache folder (default: ``osmnx.settings.cache_folder``).
    **kwargs
        Passed to ``osmnx.graph_from_place``.

    Raises
    ------
    NetworkError
        When offline, Overpass/Nominatim fails or returns nothing; the message points
        to :func:`graph_from_file`.
    """
    import osmnx as ox

    return _download(lambda **kw: ox.graph_from_place(query, **kw), f"place {query!r}", network_type, speeds, cache_folder, largest_component, **kwargs)


def graph_from_polygon(polygon, network_type: str = "walk", speeds=None, *, cache_folder=None, largest_component=True, **kwargs):
    """Download the road graph inside a shapely (Multi)Polygon in EPSG:4326; see :func:`graph_from_place`."""
    import osmnx as ox

    return _download(lambda **kw: ox.graph_from_polygon(polygon, **kw), "the polygon", network_type, speeds, cache_folder, largest_component, **kwargs)


def graph_from_bbox(bbox, network_type: str = "walk", speeds=None, *, cache_folder=None, largest_component=True, **kwargs):
    """Download the road graph in ``bbox = (west, south, east, north)`` degrees; see :func:`graph_from_place`."""
    import osmnx as ox

    return _download(lambda **kw: ox.graph_from_bbox(tuple(bbox), **kw), f"bbox {tuple(bbox)}", network_type, speeds, cache_folder, largest_component, **kwargs)
