"""Folium maps for township heads: offline, self-contained, reproducible HTML."""

from siting.maps.offline import external_urls, make_self_contained, offline_map, save_map, stable_ids

__all__ = ["external_urls", "make_self_contained", "offline_map", "save_map", "stable_ids"]
