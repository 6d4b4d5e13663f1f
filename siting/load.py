"""Load stage: read each layer from its file, map its columns onto the schema, check it, store it in WGS84.

Every problem found is collected as a :class:`Problem` naming the file, the row (1-based record
number; for CSV and Excel the spreadsheet line is row + 1), the id, the column, what is wrong and
how to fix it, so a planner sees all of them at once instead of one traceback at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from .config import LayerSpec
from .crs import WGS84, bd09_to_wgs84, gcj02_to_wgs84
from .errors import DataError
from .schema import BOOL_FALSE, BOOL_TRUE, SCHEMAS, VOCAB, LayerSchema

__all__ = ["Problem", "read_layer", "read_table", "format_problems", "raise_for_problems"]

log = logging.getLogger(__name__)

_XY_CANDIDATES = [("经度", "纬度"), ("lon", "lat"), ("lng", "lat"), ("longitude", "latitude"), ("x", "y"), ("X", "Y")]
_OFFSET_SYSTEMS = {"GCJ-02": gcj02_to_wgs84, "GCJ02": gcj02_to_wgs84, "BD-09": bd09_to_wgs84, "BD09": bd09_to_wgs84}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, with where it is and how to fix it."""

    layer: str
    file: str
    en: str
    zh: str
    row: int | None = None
    id: str | None = None
    column: str | None = None
    fix_en: str = ""
    fix_zh: str = ""
    severity: str = "error"  # "error" stops the run; "warning" is reported and the row kept

    def format(self, lang: str = "zh") -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"第 {self.row} 行" if lang == "zh" else f"row {self.row}")
        if self.id is not None:
            where.append(f"编号 {self.id}" if lang == "zh" else f"id {self.id}")
        if self.column is not None:
            where.append(f"列“{self.column}”" if lang == "zh" else f"column '{self.column}'")
        text, fix = (self.zh, self.fix_zh) if lang == "zh" else (self.en, self.fix_en)
        sep = "，" if lang == "zh" else ", "
        head = sep.join(where)
        if lang == "zh":
            return f"{head}：{text}" + (f"。处理：{fix}" if fix else "")
        return f"{head}: {text}" + (f". Fix: {fix}" if fix else "")


def format_problems(problems: list[Problem], lang: str = "zh", limit: int | None = None) -> str:
    shown = problems if limit is None else problems[:limit]
    lines = [("错误 " if p.severity == "error" else "警告 ") if lang == "zh" else f"{p.severity.upper()} " for p in shown]
    lines = [tag + p.format(lang) for tag, p in zip(lines, shown)]
    if limit is not None and len(problems) > limit:
        more = len(problems) - limit
        lines.append(f"……另有 {more} 个问题" if lang == "zh" else f"... and {more} more problems")
    return "\n".join(lines)


def raise_for_problems(problems: list[Problem]) -> None:
    """Raise one DataError listing every error-level problem (warnings are logged)."""
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        if p.severity != "error":
            log.warning(p.format("en"))
    if errors:
        n = len(errors)
        raise DataError(
            f"{n} problem(s) in the input data:\n" + format_problems(errors, "en", 50),
            f"输入数据有 {n} 个问题：\n" + format_problems(errors, "zh", 50),
        )


# ---------------------------------------------------------------------------------------- reading


def _detect_text_encoding(raw: bytes) -> str:
    """UTF-8 if it decodes, else GB18030 (a superset of GBK, which ArcGIS exports on Chinese Windows)."""
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _shapefile_encoding(path: Path) -> str | None:
    """The .dbf encoding of a shapefile without a .cpg file, detected from its bytes."""
    if path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists():
        return None
    dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None:
        return None
    return _detect_text_encoding(dbf.read_bytes())


def read_table(path: Path, encoding: str | None = None, sheet: str | None = None) -> pd.DataFrame:
    """A CSV or Excel table as strings-preserving DataFrame (types are coerced later, per field)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return pd.read_excel(path, sheet_name=sheet or 0, dtype=object)
    raw = path.read_bytes()
    enc = encoding or ("utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else _detect_text_encoding(raw))
    from io import StringIO

    return pd.read_csv(StringIO(raw.decode(enc)), dtype=object, keep_default_na=False, na_values=[""])


def _xy_columns(df: pd.DataFrame, spec: LayerSpec) -> tuple[str, str] | None:
    if spec.x and spec.y:
        return spec.x, spec.y
    lower = {str(c).lower(): c for c in df.columns}
    for x, y in _XY_CANDIDATES:
        if x.lower() in lower and y.lower() in lower:
            return lower[x.lower()], lower[y.lower()]
    return None


def _to_wgs84(gdf: gpd.GeoDataFrame, declared: str | None, spec: LayerSpec, problems: list[Problem]) -> gpd.GeoDataFrame:
    file = str(spec.path)
    if declared and declared.upper().replace("_", "-") in _OFFSET_SYSTEMS:
        convert = _OFFSET_SYSTEMS[declared.upper().replace("_", "-")]

        def _fix(coords):
            lon, lat = convert(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat])

        gdf = gdf.set_crs(WGS84, allow_override=True)
        gdf["geometry"] = shapely.transform(gdf.geometry.values, _fix)
        return gdf
    if declared:
        try:
            crs = CRS.from_user_input(declared)
        except CRSError:
            problems.append(
                Problem(spec.name, file, f"unknown CRS '{declared}'", f"无法识别坐标系“{declared}”",
                        fix_en="use e.g. EPSG:4326, EPSG:4490, EPSG:4549, GCJ-02 or BD-09",
                        fix_zh="请填写如 EPSG:4326、EPSG:4490、EPSG:4549、GCJ-02 或 BD-09")
            )
            return gdf.iloc[0:0]
        gdf = gdf.set_crs(crs, allow_override=True)
    if gdf.crs is None:
        problems.append(
            Problem(spec.name, file, "the file has no coordinate reference system", "文件没有坐标系信息",
                    fix_en=f"add crs = \"EPSG:4326\" (or the right one) under [layers.{spec.name}] in the config",
                    fix_zh=f"在配置文件 [layers.{spec.name}] 下加上 crs = \"EPSG:4326\"（或实际坐标系）")
        )
        return gdf.iloc[0:0]
    return gdf.to_crs(WGS84)


def _read_source(spec: LayerSpec, problems: list[Problem]) -> gpd.GeoDataFrame | None:
    path = spec.path
    file = str(path)
    if not path.exists():
        problems.append(
            Problem(spec.name, file, "file not found", "找不到文件",
                    fix_en=f"check layers.{spec.name}.path in the config (relative to the config file)",
                    fix_zh=f"检查配置中 layers.{spec.name}.path（相对于配置文件所在目录）")
        )
        return None
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".xlsx", ".xlsm", ".xls"):
            df = read_table(path, spec.encoding, spec.sheet)
            xy = _xy_columns(df, spec)
            if xy is None:
                problems.append(
                    Problem(spec.name, file, f"no coordinate columns; columns are {', '.join(map(str, df.columns))}",
                            f"找不到坐标列；现有列：{'、'.join(map(str, df.columns))}",
                            fix_en=f"name them 经度/纬度 or lon/lat, or set x = \"…\" and y = \"…\" under [layers.{spec.name}]",
                            fix_zh=f"把坐标列命名为 经度/纬度 或 lon/lat，或在 [layers.{spec.name}] 下设置 x、y")
                )
                return None
            x = pd.to_numeric(df[xy[0]], errors="coerce")
            y = pd.to_numeric(df[xy[1]], errors="coerce")
            for i in np.flatnonzero((x.isna() | y.isna()).to_numpy()):
                problems.append(
                    Problem(spec.name, file, "coordinates missing or not numbers", "坐标为空或不是数字",
                            row=int(i) + 1, column=f"{xy[0]}/{xy[1]}",
                            fix_en="fill in the coordinates or delete the row", fix_zh="补全坐标或删除该行")
                )
            geom = gpd.points_from_xy(x.fillna(0), y.fillna(0))
            gdf = gpd.GeoDataFrame(df.drop(columns=list(xy)), geometry=geom, crs=None)
            gdf.loc[(x.isna() | y.isna()).to_numpy(), "geometry"] = None
            declared = spec.crs or "EPSG:4326"
        else:
            encoding = spec.encoding or (_shapefile_encoding(path) if suffix == ".shp" else None)
            kwargs = {"encoding": encoding} if encoding else {}
            if spec.layer:
                kwargs["layer"] = spec.layer
            gdf = gpd.read_file(path, engine="pyogrio", **kwargs)
            declared = spec.crs
    except Exception as exc:  # the reader's own message is the useful part
        problems.append(
            Problem(spec.name, file, f"cannot read the file: {exc}", f"无法读取文件：{exc}",
                    fix_en="check the format (GeoJSON, GeoPackage, Shapefile, CSV or Excel) and encoding",
                    fix_zh="检查文件格式（GeoJSON、GeoPackage、Shapefile、CSV 或 Excel）和编码")
        )
        return None
    return _to_wgs84(gdf, declared, spec, problems)


# ---------------------------------------------------------------------------------------- conforming


def _category_lookup(vocab_name: str, extra: dict[str, str]) -> dict[str, str]:
    table = {}
    for code, synonyms in VOCAB[vocab_name].items():
        table[code.lower()] = code
        for s in synonyms:
            table[str(s).strip().lower()] = code
    for source, code in extra.items():
        table[str(source).strip().lower()] = code
    return table


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or (isinstance(value, str) and not value.strip()) or value is pd.NA


def _coerce(value, dtype: str, lookup: dict[str, str] | None):
    """Return (coerced value, error or None) for one cell."""
    if _is_blank(value):
        return None, None
    text = str(value).strip()
    if dtype == "str":
        if isinstance(value, float) and value.is_integer():
            text = str(int(value))
        return text, None
    if dtype in ("int", "float"):
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            return None, ("is not a number", "不是数字")
        if not np.isfinite(number):
            return None, ("is not a finite number", "不是有限数值")
        if dtype == "int":
            if not float(number).is_integer():
                return None, ("must be a whole number", "必须是整数")
            return int(number), None
        return number, None
    if dtype == "bool":
        low = text.lower()
        if low in BOOL_TRUE:
            return True, None
        if low in BOOL_FALSE:
            return False, None
        return None, ("must be yes/no (是/否)", "应为 是/否")
    if dtype == "date":
        if isinstance(value, (dt.date, pd.Timestamp)):
            return pd.Timestamp(value).date(), None
        if text.replace(".0", "").isdigit() and len(text.replace(".0", "")) == 4:
            # A bare year: take its last day, so a compound of the plan's year counts as new (the stricter rule).
            return dt.date(int(text.replace(".0", "")), 12, 31), None
        try:
            return pd.Timestamp(text.replace("/", "-").replace(".", "-")).date(), None
        except (ValueError, TypeError):
            return None, ("is not a date (YYYY-MM-DD or a year)", "不是日期（YYYY-MM-DD 或年份）")
    if dtype == "category":
        code = lookup.get(text.lower()) if lookup else None
        if code is None:
            return None, ("unknown value", "未知取值")
        return code, None
    raise ValueError(dtype)


def _conform(gdf: gpd.GeoDataFrame, spec: LayerSpec, schema: LayerSchema, problems: list[Problem]) -> gpd.GeoDataFrame:
    file = str(spec.path)
    name = spec.name
    columns = [str(c) for c in gdf.columns if c != "geometry"]
    rename: dict[str, str] = {}
    for source, target in spec.columns.items():
        if source not in gdf.columns:
            problems.append(
                Problem(name, file, f"column '{source}' named in the config is not in the file; columns are {', '.join(columns)}",
                        f"配置中的列“{source}”在文件中不存在；现有列：{'、'.join(columns)}",
                        column=source,
                        fix_en=f"correct layers.{name}.columns in the config", fix_zh=f"修改配置中的 layers.{name}.columns")
            )
        else:
            rename[source] = target
    # Columns already named like the schema (English field or its Chinese label) need no mapping.
    for f in schema.fields:
        if f.name in rename.values():
            continue
        for alias in (f.name, f.zh):
            if alias and alias in gdf.columns and alias not in rename:
                rename[alias] = f.name
                break
    gdf = gdf.rename(columns=rename)
    gdf = gdf.loc[:, ~gdf.columns.duplicated()]

    id_col = schema.id_field
    ids = gdf[id_col].astype(str).where(gdf[id_col].notna(), None) if id_col and id_col in gdf else pd.Series([None] * len(gdf), index=gdf.index)
    vocab = schema.extra.get("vocab", {})
    out = {}
    for f in schema.fields:
        if f.name not in gdf.columns:
            if f.required:
                problems.append(
                    Problem(name, file, f"required field '{f.name}' ({f.zh}) is missing; columns are {', '.join(columns)}",
                            f"缺少必需字段“{f.zh}”（{f.name}）；现有列：{'、'.join(columns)}",
                            column=f.name,
                            fix_en=f"map the right column to it: [layers.{name}.columns] \"源列名\" = \"{f.name}\"",
                            fix_zh=f"在 [layers.{name}.columns] 中加上 \"源列名\" = \"{f.name}\"")
                )
            out[f.name] = [None] * len(gdf)
            continue
        lookup = _category_lookup(vocab[f.name], spec.values.get(f.name, {})) if f.dtype == "category" else None
        values = []
        for i, raw in enumerate(gdf[f.name].tolist()):
            value, err = _coerce(raw, f.dtype, lookup)
            if err is None and value is None and f.required:
                err = ("is empty", "为空")
            if err is None and value is not None and f.minimum is not None and value < f.minimum:
                err = (f"must be at least {f.minimum:g}", f"不能小于 {f.minimum:g}")
            if err is not None:
                allowed = ""
                if f.dtype == "category":
                    allowed_en = ", ".join(f"{syn[0]} ({code})" for code, syn in VOCAB[vocab[f.name]].items())
                    allowed = allowed_en
                problems.append(
                    Problem(name, file, f"value {raw!r} {err[0]}" + (f"; allowed: {allowed}" if allowed else ""),
                            f"取值 {raw!r} {err[1]}" + (f"；可用取值：{allowed}" if allowed else ""),
                            row=i + 1, id=ids.iloc[i], column=f.name,
                            fix_en="correct the cell" + (f" or add it under [layers.{name}.values.{f.name}]" if allowed else ""),
                            fix_zh="更正该单元格" + (f"，或在 [layers.{name}.values.{f.name}] 中加上对应关系" if allowed else ""))
                )
            values.append(value)
        out[f.name] = values
    result = pd.DataFrame(out, index=gdf.index)
    for f in schema.fields:
        if f.dtype == "int":
            result[f.name] = pd.array(result[f.name], dtype="Int64")
        elif f.dtype == "float":
            result[f.name] = pd.to_numeric(result[f.name], errors="coerce").astype(float)
        elif f.dtype == "bool":
            result[f.name] = pd.array(result[f.name], dtype="boolean")
        else:
            result[f.name] = result[f.name].astype(object)
    extras = [c for c in gdf.columns if c not in result.columns and c != "geometry"]
    result = pd.concat([result, gdf[extras]], axis=1) if extras else result
    return gpd.GeoDataFrame(result, geometry=gdf.geometry.values, crs=gdf.crs, index=gdf.index)


def _check_geometry(gdf: gpd.GeoDataFrame, spec: LayerSpec, schema: LayerSchema, problems: list[Problem]) -> gpd.GeoDataFrame:
    file = str(spec.path)
    id_col = schema.id_field
    keep = np.ones(len(gdf), dtype=bool)
    geoms = gdf.geometry.values
    for i, g in enumerate(geoms):
        rid = None if id_col is None else gdf[id_col].iloc[i]
        if g is None or g.is_empty:
            problems.append(Problem(spec.name, file, "geometry is missing or empty", "几何为空", row=i + 1, id=rid,
                                    fix_en="draw the feature or delete the row", fix_zh="补绘要素或删除该行"))
            keep[i] = False
            continue
        if g.geom_type not in schema.geometry:
            problems.append(Problem(spec.name, file, f"geometry is {g.geom_type}; expected {' or '.join(schema.geometry)}",
                                    f"几何类型为 {g.geom_type}，应为 {' 或 '.join(schema.geometry)}", row=i + 1, id=rid,
                                    fix_en="export the layer with the right geometry type", fix_zh="以正确的几何类型导出该图层"))
            keep[i] = False
            continue
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            if spec.repair:
                geoms[i] = shapely.make_valid(g)
                if geoms[i].geom_type == "GeometryCollection":
                    geoms[i] = shapely.union_all([p for p in geoms[i].geoms if p.geom_type in schema.geometry])
                problems.append(Problem(spec.name, file, f"invalid geometry repaired ({reason})", f"无效几何已修复（{reason}）",
                                        row=i + 1, id=rid, severity="warning"))
            else:
                problems.append(Problem(spec.name, file, f"invalid geometry: {reason}", f"几何无效：{reason}", row=i + 1, id=rid,
                                        fix_en=f"fix it in GIS, or set repair = true under [layers.{spec.name}]",
                                        fix_zh=f"在 GIS 中修复，或在 [layers.{spec.name}] 下设置 repair = true"))
                keep[i] = False
    gdf = gdf.set_geometry(geoms)
    if id_col and id_col in gdf:
        ids = gdf[id_col]
        dup = ids.notna() & ids.duplicated(keep=False)
        for value in sorted(set(ids[dup].astype(str))):
            rows = [int(i) + 1 for i in np.flatnonzero((ids.astype(str) == value).to_numpy())]
            problems.append(Problem(spec.name, file, f"id '{value}' is used by rows {', '.join(map(str, rows))}",
                                    f"编号“{value}”重复，出现在第 {'、'.join(map(str, rows))} 行", id=value, column=id_col,
                                    fix_en="give each feature its own id", fix_zh="为每个要素设置唯一编号"))
    return gdf[keep]


def read_layer(spec: LayerSpec, problems: list[Problem] | None = None) -> gpd.GeoDataFrame:
    """Read one layer, map its columns and values onto the schema, check it, return it in EPSG:4326.

    Parameters
    ----------
    spec : LayerSpec
        Where the layer is and how its columns map (from the project config).
    problems : list of Problem, optional
        Problems are appended here; when omitted, any error raises :class:`DataError` at once.
    """
    own = problems is None
    problems = [] if own else problems
    schema = SCHEMAS[spec.name]
    start = len(problems)
    gdf = _read_source(spec, problems)
    if gdf is None:
        gdf = gpd.GeoDataFrame({f.name: [] for f in schema.fields}, geometry=[], crs=WGS84)
    else:
        gdf = gdf.reset_index(drop=True)
        gdf = _conform(gdf, spec, schema, problems)
        gdf = _check_geometry(gdf, spec, schema, problems)
    if own:
        raise_for_problems(problems[start:])
    return gdf
