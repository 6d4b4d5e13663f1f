"""Project configuration: one TOML file naming each layer's source and its columns, plus parameters.

The defaults live in ``siting/defaults.toml`` with the source of every number in its comment;
a project file overrides them key by key. Unknown keys and wrong types are errors that name the
key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .schema import SCHEMAS

__all__ = ["Config", "LayerSpec", "load_config", "DEFAULTS_PATH"]

DEFAULTS_PATH = Path(str(resources.files("siting") / "defaults.toml"))

# Keys of a [layers.NAME] table: what the reader understands.
LAYER_KEYS = {
    "path": str,  # file, relative to the config file
    "columns": dict,  # source column → schema field
    "crs": str,  # source CRS when the file has none or states it wrongly: EPSG:xxxx, GCJ-02, BD-09
    "encoding": str,  # text encoding of a .dbf / .csv when it cannot be detected
    "sheet": str,  # Excel sheet name
    "x": str,  # CSV/Excel column with longitude or easting
    "y": str,  # CSV/Excel column with latitude or northing
    "layer": str,  # layer inside a GeoPackage
    "repair": bool,  # repair invalid geometries with shapely.make_valid instead of failing
    "values": dict,  # extra category synonyms: {field = {source value = code}}
    "network_type": str,  # roads only: walk or drive (informational)
    "area_unit": str,  # parcels: unit of the stated areas when not m² (亩, 公顷, km²); else detected from the polygons
    "outside": str,  # features beyond the district boundary: "error" (default), "drop" (left out, listed) or "keep"
}
OUTSIDE_CHOICES = ("error", "drop", "keep")

_POSITIVE = {
    "policy.places_per_1000",
    "policy.remediation_years",
    "policy.guidance_teachers_per_10000",
    "demand.persons_per_household",
    "demand.floor_area_per_person",
    "demand.default_levels",
    "supply.kindergarten_class_size",
    "network.walk_speed_kmh",
    "catchment.street_limit",
    "catchment.town_limit",
    "catchment.village_limit",
    "optimize.classes_per_site",
    "optimize.class_size",
    "optimize.area_per_class",
    "access.beta",
    "access.catchment_scale",
    "access.per",
}
_FRACTIONS = {"demand.under3_share", "demand.take_up"}
_CHOICES = {
    "project.lang": ("zh", "en"),
    "demand.method": ("ratio", "cohort"),
    "catchment.street_network": ("walk", "drive"),
    "catchment.town_network": ("walk", "drive"),
    "catchment.village_network": ("walk", "drive"),
    "catchment.street_weight": ("length", "travel_time"),
    "catchment.town_weight": ("length", "travel_time"),
    "catchment.village_weight": ("length", "travel_time"),
    "optimize.model": ("capacitated", "coverage"),
    "optimize.scenario": ("auto", "comply"),
    "optimize.phase_sites": ("comply", "all"),
    "maps.basemap": ("none", "osm", "tianditu", "amap"),
    "access.method": ("2sfca", "3sfca"),
    "access.decay": ("step", "gaussian", "gravity", "steps"),
    "access.demand": ("children", "residents"),
}


@dataclass(frozen=True)
class LayerSpec:
    """Where one layer comes from and how its columns map onto the schema."""

    name: str
    path: Path
    columns: dict[str, str] = field(default_factory=dict)
    crs: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    x: str | None = None
    y: str | None = None
    layer: str | None = None
    repair: bool = False
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    network_type: str | None = None
    outside: str = "error"
    area_unit: str | None = None


@dataclass
class Config:
    """Parameters (``params``, nested by section) and layer sources (``layers``).

    Use ``config["policy.places_per_1000"]`` for a value and ``config.source(key)`` for the
    comment that says where its default comes from.
    """

    params: dict[str, dict[str, Any]]
    layers: dict[str, LayerSpec]
    path: Path | None = None
    sources: dict[str, str] = field(default_factory=dict)
    given: frozenset[str] = frozenset()  # keys set by the project (its file, its policy preset or overrides)

    def __getitem__(self, key: str) -> Any:
        section, _, name = key.partition(".")
        try:
            return self.params[section][name]
        except KeyError:
            raise ConfigError(f"unknown config key '{key}'", f"未知的配置项“{key}”") from None

    def source(self, key: str) -> str:
        return self.sources.get(key, "")

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def as_of(self) -> dt.date:
        """The date deadlines are counted against (``analysis.as_of``; "today" by default)."""
        value = self["analysis.as_of"]
        if isinstance(value, dt.date):
            return value
        if value in ("today", ""):
            return dt.date.today()
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(
                f"analysis.as_of = '{value}' is not a date: use 'today' or YYYY-MM-DD",
                f"analysis.as_of = “{value}”不是日期：请填 today 或 YYYY-MM-DD",
            ) from None

    def deadline(self) -> dt.date:
        """Plan date + remediation years (2027-04-17 for the Lanshan plan); 29 Feb falls to 28 Feb."""
        start: dt.date = self["policy.plan_date"]
        years = int(self["policy.remediation_years"])
        try:
            return start.replace(year=start.year + years)
        except ValueError:
            return start.replace(year=start.year + years, day=28)


def _read_sources(path: Path) -> dict[str, str]:
    """The comment after each ``key = value`` line of the defaults file, by ``section.key``."""
    sources: dict[str, str] = {}
    section = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        head = re.match(r"^\s*\[([^\]]+)\]", line)
        if head:
            section = head.group(1).strip()
            continue
        item = re.match(r"^\s*([A-Za-z0-9_]+)\s*=.*?#\s*(.+)$", line)
        if item and section:
            sources[f"{section}.{item.group(1)}"] = item.group(2).strip()
    return sources


def _suggest(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def _suggest_zh(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f"是否应为“{close[0]}”？" if close else ""


def _check_value(key: str, value: Any, default: Any, where: str) -> Any:
    expected = type(default)
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if expected is dt.date and isinstance(value, str):
        try:
            value, ok = dt.date.fromisoformat(value), True
        except ValueError:
            ok = False
    if key == "analysis.as_of" and isinstance(value, dt.date):
        ok = True
    if not ok:
        raise ConfigError(
            f"{where}: '{key}' must be {expected.__name__} (like {default!r}), got {value!r}",
            f"{where}：配置项“{key}”应为 {expected.__name__}（例如 {default!r}），实际为 {value!r}",
        )
    if key in _POSITIVE and value <= 0:
        raise ConfigError(
            f"{where}: '{key}' must be greater than 0, got {value!r}",
            f"{where}：配置项“{key}”必须大于 0，实际为 {value!r}",
        )
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        raise ConfigError(
            f"{where}: '{key}' must not be negative, got {value!r}",
            f"{where}：配置项“{key}”不能为负数，实际为 {value!r}",
        )
    if key in _FRACTIONS and not 0 < value <= 1:
        raise ConfigError(
            f"{where}: '{key}' is a share and must be in (0, 1], got {value!r}",
            f"{where}：配置项“{key}”是比例，应在 0 到 1 之间，实际为 {value!r}",
        )
    if key in _CHOICES and value not in _CHOICES[key]:
        opts = ", ".join(_CHOICES[key])
        raise ConfigError(
            f"{where}: '{key}' must be one of {opts}, got {value!r}",
            f"{where}：配置项“{key}”只能是 {opts} 之一，实际为 {value!r}",
        )
    return value


def _merge_params(defaults: dict, user: dict, where: str) -> dict:
    params = copy.deepcopy(defaults)
    for section, table in user.items():
        if section == "layers":
            continue
        if section not in defaults:
            raise ConfigError(
                f"{where}: unknown section [{section}].{_suggest(section, list(defaults) + ['layers'])}",
                f"{where}：未知的配置节 [{section}]。{_suggest_zh(section, list(defaults) + ['layers'])}",
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{section}] must be a table", f"{where}：[{section}] 必须是一个表")
        for name, value in table.items():
            key = f"{section}.{name}"
            if name not in defaults[section]:
                raise ConfigError(
                    f"{where}: unknown config key '{key}'.{_suggest(name, defaults[section])}",
                    f"{where}：未知的配置项“{key}”。{_suggest_zh(name, defaults[section])}",
                )
            params[section][name] = _check_value(key, value, defaults[section][name], where)
    return params


def _layer_specs(user_layers: dict, base: Path, where: str) -> dict[str, LayerSpec]:
    specs: dict[str, LayerSpec] = {}
    known = list(SCHEMAS) + ["roads"]
    for name, table in user_layers.items():
        if name not in known:
            raise ConfigError(
                f"{where}: unknown layer [layers.{name}]; layers are {', '.join(known)}.{_suggest(name, known)}",
                f"{where}：未知图层 [layers.{name}]，可用图层：{'、'.join(known)}。{_suggest_zh(name, known)}",
            )
        if isinstance(table, str):
            table = {"path": table}
        for key, value in table.items():
            if key not in LAYER_KEYS:
                raise ConfigError(
                    f"{where}: unknown key 'layers.{name}.{key}'.{_suggest(key, LAYER_KEYS)}",
                    f"{where}：未知的配置项“layers.{name}.{key}”。{_suggest_zh(key, LAYER_KEYS)}",
                )
            if not isinstance(value, LAYER_KEYS[key]):
                raise ConfigError(
                    f"{where}: 'layers.{name}.{key}' must be {LAYER_KEYS[key].__name__}, got {value!r}",
                    f"{where}：配置项“layers.{name}.{key}”应为 {LAYER_KEYS[key].__name__}，实际为 {value!r}",
                )
        if table.get("outside", "error") not in OUTSIDE_CHOICES:
            raise ConfigError(
                f"{where}: 'layers.{name}.outside' must be one of {', '.join(OUTSIDE_CHOICES)}, got {table['outside']!r}",
                f"{where}：配置项“layers.{name}.outside”只能是 {'、'.join(OUTSIDE_CHOICES)} 之一，实际为 {table['outside']!r}",
            )
        if "area_unit" in table:
            from .units import AREA_UNITS, area_unit_factor

            try:
                area_unit_factor(table["area_unit"])
            except ValueError:
                raise ConfigError(
                    f"{where}: 'layers.{name}.area_unit' must be one of {', '.join(AREA_UNITS)}, got {table['area_unit']!r}",
                    f"{where}：配置项“layers.{name}.area_unit”只能是 {'、'.join(AREA_UNITS)} 之一，实际为 {table['area_unit']!r}",
                ) from None
        if "path" not in table:
            raise ConfigError(
                f"{where}: [layers.{name}] needs path = \"FILE\"",
                f"{where}：[layers.{name}] 缺少 path = \"文件\"",
            )
        schema = SCHEMAS.get(name)
        for source, target in table.get("columns", {}).items():
            if schema is not None and target not in schema.field_names:
                raise ConfigError(
                    f"{where}: layers.{name}.columns maps '{source}' to unknown field '{target}'; "
                    f"fields are {', '.join(schema.field_names)}.{_suggest(target, schema.field_names)}",
                    f"{where}：layers.{name}.columns 把“{source}”映射到未知字段“{target}”；"
                    f"可用字段：{'、'.join(schema.field_names)}。{_suggest_zh(target, schema.field_names)}",
                )
        path = Path(table["path"])
        specs[name] = LayerSpec(name=name, **{**table, "path": path if path.is_absolute() else base / path})
    return specs


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Read a project config (TOML) on top of the defaults.

    Parameters
    ----------
    path : str or Path, optional
        The project file. ``None`` gives the defaults with no layers.
    overrides : dict, optional
        ``{"section.key": value}`` applied last and checked like the file's values.

    Raises
    ------
    ConfigError
        For an unreadable file, an unknown section or key, or a value of the wrong type or range;
        the message names the file and the key.
    """
    with open(DEFAULTS_PATH, "rb") as fh:
        defaults = tomllib.load(fh)
    sources = _read_sources(DEFAULTS_PATH)
    user: dict = {}
    where = "defaults"
    cfg_path = None
    if path is not None:
        cfg_path = Path(path).resolve()
        where = str(path)
        if not cfg_path.exists():
            raise ConfigError(f"config file not found: {path}", f"找不到配置文件：{path}")
        try:
            user = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ConfigError(
                f"{path}: not UTF-8 text; save the config as UTF-8", f"{path}：不是 UTF-8 文本，请以 UTF-8 编码保存配置文件"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}", f"{path}：TOML 格式错误：{exc}") from None
    base = cfg_path.parent if cfg_path else Path.cwd()
    params = defaults
    given: set[str] = set()
    preset = user.get("policy", {}).get("preset") if isinstance(user.get("policy"), dict) else None
    if preset:
        table, preset_path = _read_preset(preset, base, where)
        params = _merge_params(params, table, str(preset_path))
        for section, items in table.items():
            for name in items:
                comment = _read_sources(preset_path).get(f"{section}.{name}")
                sources[f"{section}.{name}"] = f"{comment} [preset {preset_path.name}]" if comment else f"preset {preset_path.name}"
                given.add(f"{section}.{name}")
    params = _merge_params(params, user, where)
    given |= {f"{section}.{name}" for section, table in user.items() if section != "layers" and isinstance(table, dict)
              for name in table}
    for key, value in (overrides or {}).items():
        section, _, name = key.partition(".")
        params = _merge_params(params, {section: {name: value}}, "override")
        given.add(key)
    layers = _layer_specs(user.get("layers", {}), base, where)
    return Config(params=params, layers=layers, path=cfg_path, sources=sources, given=frozenset(given))


def _read_preset(preset: str, base: Path, where: str) -> tuple[dict, Path]:
    """A policy preset: a TOML file of another district's parameters ([policy], [optimize] costs, [demand] …).

    Loaded on top of the defaults and under the project's own file, so one file carries a district's targets.
    """
    path = Path(preset)
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise ConfigError(f"{where}: policy.preset file not found: {path}", f"{where}：找不到 policy.preset 文件：{path}")
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not a UTF-8 TOML file: {exc}", f"{path}：不是 UTF-8 编码的 TOML 文件：{exc}") from None
    for section in ("layers", "project"):
        if section in table:
            raise ConfigError(f"{path}: a preset holds parameters only; move [{section}] to the project file",
                              f"{path}：预设文件只能包含参数，请把 [{section}] 移到项目配置文件中")
    if isinstance(table.get("policy"), dict) and "preset" in table["policy"]:
        raise ConfigError(f"{path}: a preset cannot name another preset", f"{path}：预设文件中不能再指定 preset")
    return table, path
