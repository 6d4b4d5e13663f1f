"""Load stage: read each layer from its file, map its columns onto the schema, check it, store it in WGS84.

Every problem found is collected as a :class:`Problem` naming the file, the row (as the planner sees
it: the spreadsheet row for CSV and Excel, header included; the 1-based record number for GIS files),
the id and name, the column, what is wrong and how to fix it, so a planner sees all of them at once instead of one traceback at a time.
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
from .crs import (
    GK_ALIASES,
    WGS84,
    GaussKruger,
    bd09_to_wgs84,
    convert_geometry,
    gcj02_to_wgs84,
    gk_from_crs,
    gk_from_eastings,
    gk_prefix_zone,
    gk_zone,
)
from .errors import DataError
from .schema import BOOL_FALSE, BOOL_TRUE, SCHEMAS, VOCAB, LayerSchema

__all__ = ["Problem", "format_problems", "geometry_from_geojson", "problems_table", "raise_for_problems", "read_layer",
           "read_table", "row_number"]

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
    severity: str = "error"  # "error" stops the run; "warning" is reported and the row kept; "note" only informs
    name: str | None = None  # the record's name, shown beside its id
    field: str | None = None  # the schema field the column maps to, when the column has another name

    def format(self, lang: str = "zh") -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"第 {self.row} 行" if lang == "zh" else f"row {self.row}")
        named = f"（{self.name}）" if lang == "zh" else f" ({self.name})"
        if self.id is not None:
            where.append((f"编号 {self.id}" if lang == "zh" else f"id {self.id}") + (named if self.name else ""))
        elif self.name:
            where.append(f"“{self.name}”" if lang == "zh" else f"'{self.name}'")
        if self.column is not None:
            extra = f" ({self.field})" if lang != "zh" and self.field and self.field != self.column else ""
            where.append(f"列“{self.column}”" if lang == "zh" else f"column '{self.column}'{extra}")
        text, fix = (self.zh, self.fix_zh) if lang == "zh" else (self.en, self.fix_en)
        sep = "，" if lang == "zh" else ", "
        head = sep.join(where)
        if lang == "zh":
            return f"{head}：{text}" + (f"。处理：{fix}" if fix else "")
        return f"{head}: {text}" + (f". Fix: {fix}" if fix else "")


_SEVERITY_ZH = {"error": "错误 ", "warning": "警告 ", "note": "提示 "}


def format_problems(problems: list[Problem], lang: str = "zh", limit: int | None = None) -> str:
    shown = problems if limit is None else problems[:limit]
    lines = [_SEVERITY_ZH.get(p.severity, "警告 ") if lang == "zh" else f"{p.severity.upper()} " for p in shown]
    lines = [tag + p.format(lang) for tag, p in zip(lines, shown)]
    if limit is not None and len(problems) > limit:
        more = len(problems) - limit
        lines.append(f"……另有 {more} 个问题" if lang == "zh" else f"... and {more} more problems")
    return "\n".join(lines)


_NOTE_COLUMNS = {  # input_notes.csv headers: English, Chinese
    "severity": "级别", "layer": "图层", "file": "文件", "row": "行", "id": "编号", "name": "名称", "column": "列",
    "message": "说明", "fix": "处理",
}
_SEVERITY_LABEL_ZH = {"error": "错误", "warning": "警告", "note": "提示"}


def problems_table(problems: list[Problem], lang: str = "zh") -> pd.DataFrame:
    """Every problem found while loading as a table (``input_notes.csv``): what was dropped, assumed or inferred."""
    zh = lang == "zh"
    rows = [{
        "severity": _SEVERITY_LABEL_ZH.get(p.severity, p.severity) if zh else p.severity,
        "layer": p.layer, "file": p.file, "row": p.row, "id": p.id, "name": p.name, "column": p.column,
        "message": p.zh if zh else p.en, "fix": p.fix_zh if zh else p.fix_en,
    } for p in problems]
    table = pd.DataFrame(rows, columns=list(_NOTE_COLUMNS)).astype({"row": "Int64"})  # written by tables.write_csv,
    # which keeps names from the data from running as formulas
    return table.rename(columns=_NOTE_COLUMNS) if zh else table


def raise_for_problems(problems: list[Problem], log_warnings: bool = True) -> None:
    """Raise one DataError listing every error-level problem (warnings are logged).

    The error's ``problems`` attribute holds every problem, warnings included, for ``siting validate``.
    """
    errors = [p for p in problems if p.severity == "error"]
    if log_warnings:
        for p in problems:
            if p.severity != "error":
                log.warning(p.format("en"))
    if errors:
        n = len(errors)
        err = DataError(
            f"{n} problem(s) in the input data:\n" + format_problems(errors, "en", 50),
            f"输入数据有 {n} 个问题：\n" + format_problems(errors, "zh", 50),
        )
        err.problems = list(problems)
        raise err


# ---------------------------------------------------------------------------------------- reading

_TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".xls")


def row_number(spec: LayerSpec, position: int) -> int:
    """The row of record ``position`` (0-based) as the planner sees it: the spreadsheet row for CSV and
    Excel (the header is row 1, so the first record is row 2), the 1-based record number otherwise."""
    return int(position) + (2 if spec.path.suffix.lower() in _TABLE_SUFFIXES else 1)


def _detect_text_encoding(raw: bytes) -> str:
    """UTF-8 if it decodes, else GB18030 (a superset of GBK, which ArcGIS exports on Chinese Windows)."""
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


# dBASE language driver ids (byte 29 of the header) that name a Chinese code page.
_DBF_LDID = {0x4D: "gb18030", 0x7A: "gb18030", 0x4E: "cp949", 0x4F: "big5", 0x78: "big5"}


def _mostly_decodes(raw: bytes, encoding: str) -> bool:
    """Decodes with at most a few bad sequences (a .dbf cuts text at byte widths, sometimes mid-character)."""
    text = raw.decode(encoding, errors="replace")
    bad = text.count("\ufffd")
    wide = sum(1 for ch in text if ord(ch) > 127)
    return bad == 0 or bad <= 0.05 * wide


def _dbf_parts(raw: bytes) -> tuple[int, list[bytes]]:
    """Header length and the raw field names of a .dbf file."""
    header_len = int.from_bytes(raw[8:10], "little")
    names = []
    for i in range(32, max(32, header_len - 1), 32):
        if raw[i] == 0x0D:
            break
        names.append(raw[i:i + 11].split(b"\0")[0])
    return header_len, names


def _shapefile_encoding(path: Path) -> str | None:
    """The .dbf encoding of a shapefile without a .cpg file, detected from its bytes.

    The field names and records (not the binary header) are decoded: UTF-8 if they decode (but for
    characters cut at a field's byte width), else the code page the header's language driver id names,
    else GB18030 (a superset of GBK). ``None`` (let GDAL decide) when a .cpg exists or there is no .dbf.
    """
    if any(p.exists() for p in (path.with_suffix(".cpg"), path.with_suffix(".CPG"))):
        return None
    dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None:
        return None
    raw = dbf.read_bytes()
    if len(raw) < 32:
        return None
    header_len, names = _dbf_parts(raw)
    body = b" ".join(names) + raw[header_len:]
    if _mostly_decodes(body, "utf-8"):
        return "utf-8"
    return _DBF_LDID.get(raw[29], "gb18030")


def _read_shapefile(path: Path, encoding: str | None, spec: LayerSpec, problems: list) -> gpd.GeoDataFrame:
    """Read a shapefile; field names cut mid-character (the .dbf's 10-byte limit) are repaired on a copy."""
    import shutil
    import tempfile

    try:
        return gpd.read_file(path, engine="pyogrio", **({"encoding": encoding} if encoding else {}))
    except UnicodeDecodeError:
        pass
    enc = encoding or "utf-8"
    with tempfile.TemporaryDirectory(prefix="siting-shp-") as tmp:
        for part in path.parent.glob(path.stem + ".*"):
            shutil.copy2(part, Path(tmp) / part.name)
        copy = Path(tmp) / path.name
        dbf = next(p for p in (copy.with_suffix(".dbf"), copy.with_suffix(".DBF")) if p.exists())
        raw = bytearray(dbf.read_bytes())
        cut = []
        _, names = _dbf_parts(bytes(raw))
        for k, name in enumerate(names):
            fixed = name.decode(enc, errors="ignore").encode(enc)
            if fixed != name:
                cut.append(fixed.decode(enc))
                start = 32 + 32 * k
                raw[start:start + 11] = fixed.ljust(11, b"\0")
        dbf.write_bytes(bytes(raw))
        gdf = gpd.read_file(copy, engine="pyogrio", encoding=enc)
    if cut:
        problems.append(_problem(spec, f"field names cut mid-character by the .dbf's 10-byte limit, read as: {', '.join(cut)}",
                                 f".dbf 字段名受 10 字节限制被截断（截在汉字中间），读作：{'、'.join(cut)}",
                                 f"map them by these names under [layers.{spec.name}.columns], or use GeoPackage",
                                 f"在 [layers.{spec.name}.columns] 中按上述名称映射，或改用 GeoPackage", severity="warning"))
    return gdf


class _ReadError(Exception):
    """A reader failure with a planner-facing message (English, Chinese, fix)."""

    def __init__(self, en: str, zh: str, fix_en: str = "", fix_zh: str = ""):
        super().__init__(en)
        self.en, self.zh, self.fix_en, self.fix_zh = en, zh, fix_en, fix_zh


_BOM = b"\xef\xbb\xbf"
_ZIP = b"PK\x03\x04"  # .xlsx / .xlsm
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls


def _decode(raw: bytes, encoding: str | None) -> tuple[str, str, bool]:
    """``(text, encoding used, the body contradicts a UTF-8 BOM)``.

    A UTF-8 byte-order mark is dropped whatever the encoding (Excel's "CSV UTF-8" adds one; some tools then
    write a GBK body after it): the body's own encoding is detected when none is given.
    """
    bom = raw.startswith(_BOM)
    body = raw[len(_BOM):] if bom else raw
    enc = encoding or _detect_text_encoding(body)
    try:
        text = body.decode(enc)
    except (UnicodeDecodeError, LookupError) as exc:
        raise _ReadError(f"cannot decode the text as {enc}: {exc}", f"无法按 {enc} 编码解读文本：{exc}",
                         "save it as UTF-8, or set encoding = \"gb18030\" (or the right one)",
                         "另存为 UTF-8，或设置 encoding = \"gb18030\"（或实际编码）") from None
    return text, enc, bom and encoding is None and enc != "utf-8"


def _html_table(text: str) -> pd.DataFrame:
    """The largest table of an HTML page as strings (the first row is the header), read with lxml."""
    import lxml.html

    doc = lxml.html.fromstring(text)
    tables = list(doc.iter("table"))
    if not tables:
        raise _ReadError("the file is an HTML page without a table", "文件是不含表格的 HTML 网页",
                         "export the table again as .xlsx or CSV", "重新以 .xlsx 或 CSV 格式导出表格")
    table = max(tables, key=lambda t: len(t.xpath(".//tr")))
    rows = [[cell.text_content().strip() for cell in tr.xpath("./th|./td")] for tr in table.xpath(".//tr")]
    rows = [r for r in rows if any(r)]
    header, body = rows[0], rows[1:]
    width = len(header)
    body = [(r + [""] * width)[:width] for r in body]
    return pd.DataFrame(body, columns=header, dtype=object).replace("", None)


def read_table(path: Path, encoding: str | None = None, sheet: str | None = None) -> pd.DataFrame:
    """A CSV or Excel table as strings-preserving DataFrame (types are coerced later, per field).

    Files named .xls/.xlsx are recognised by their bytes: a workbook, or an HTML page or text table saved
    under that name (as many web systems export); ``df.attrs["siting_note"]`` then says what was read.
    """
    suffix = path.suffix.lower()
    raw = path.read_bytes()
    if suffix in (".xlsx", ".xlsm", ".xls") and (raw.startswith(_ZIP) or raw.startswith(_OLE)):
        if raw.startswith(_OLE):
            try:
                import xlrd  # noqa: F401  (pandas' reader of Excel 97-2003 files)
            except ImportError:
                raise _ReadError("the file is an Excel 97-2003 workbook (.xls), which this installation cannot read",
                                 "文件是 Excel 97-2003 工作簿（.xls），当前安装无法读取",
                                 "open it in Excel or WPS and save it as .xlsx (or CSV), then point path to that file",
                                 "在 Excel 或 WPS 中另存为 .xlsx（或 CSV），并把 path 指向新文件") from None
        if sheet is not None:
            with pd.ExcelFile(path) as book:
                names = [str(n) for n in book.sheet_names]
            if sheet not in names:
                raise _ReadError(f"the workbook has no sheet '{sheet}'; sheets are {', '.join(names)}",
                                 f"工作簿中没有名为“{sheet}”的工作表；现有工作表：{'、'.join(names)}",
                                 "set sheet = \"…\" to one of those names", "把 sheet 设为上述工作表之一")
        return pd.read_excel(path, sheet_name=sheet or 0, dtype=object)
    text, enc, contradicts_bom = _decode(raw, encoding)
    if not text.strip():
        raise _ReadError("the file is empty", "文件为空", "export the layer again", "重新导出该图层")
    note = None
    if contradicts_bom:
        note = (f"the file starts with a UTF-8 byte-order mark but its text is not UTF-8: read as {enc.upper()} (GBK)",
                f"文件以 UTF-8 标记（BOM）开头，但正文不是 UTF-8：已按 {enc.upper()}（GBK）读取",
                f"to confirm, set encoding = \"{enc}\" under [layers.{{layer}}], or save the file as UTF-8",
                f"可在 [layers.{{layer}}] 下设置 encoding = \"{enc}\" 以确认，或将文件另存为 UTF-8")
    head = text.lstrip()[:2000].lower()
    from io import StringIO

    if head.startswith("<") and ("<table" in text.lower() or "<html" in head):
        df = _html_table(text)
        kind = f"an HTML page saved as {suffix}" if suffix != ".html" else "an HTML page"
        note = (f"the file is {kind} (as web systems export tables), not a workbook: read its table of {len(df)} rows",
                f"文件是另存为 {suffix} 的 HTML 网页（网页系统导出的表格常见如此），并非 Excel 工作簿：已读取其中 {len(df)} 行的表格",
                "to silence this, open it in Excel or WPS and save it as .xlsx", "如需消除此提示，请在 Excel 或 WPS 中另存为 .xlsx")
    elif suffix in (".xlsx", ".xlsm", ".xls"):
        df = pd.read_csv(StringIO(text), dtype=object, keep_default_na=False, na_values=[""], sep=None, engine="python")
        note = (f"the file is a text table saved as {suffix}, not a workbook: read as delimited text",
                f"文件是另存为 {suffix} 的文本表格，并非 Excel 工作簿：已按分隔文本读取",
                "to silence this, open it in Excel or WPS and save it as .xlsx", "如需消除此提示，请在 Excel 或 WPS 中另存为 .xlsx")
    else:
        df = pd.read_csv(StringIO(text), dtype=object, keep_default_na=False, na_values=[""])
    if note:
        df.attrs["siting_note"] = note
    return df


def _xy_columns(df: pd.DataFrame, spec: LayerSpec) -> tuple[str, str] | None:
    if spec.x and spec.y:
        return spec.x, spec.y
    lower = {str(c).lower(): c for c in df.columns}
    for x, y in _XY_CANDIDATES:
        if x.lower() in lower and y.lower() in lower:
            return lower[x.lower()], lower[y.lower()]
    return None


def _coords(gdf: gpd.GeoDataFrame) -> np.ndarray:
    geoms = gdf.geometry.values
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))] if len(geoms) else geoms
    return shapely.get_coordinates(np.asarray(geoms)) if len(geoms) else np.empty((0, 2))


def _is_lonlat(xy: np.ndarray) -> bool:
    """Most coordinates are in the longitude/latitude range (single stray rows are reported later)."""
    return bool(len(xy)) and bool(np.mean((np.abs(xy[:, 0]) <= 180) & (np.abs(xy[:, 1]) <= 90)) >= 0.5)


def _looks_swapped(xy: np.ndarray) -> bool:
    """Most points have an "x" that is a Chinese latitude (3-54) and a "y" that is a Chinese longitude (73-135)."""
    if len(xy) == 0:
        return False
    swapped = (xy[:, 0] >= 3) & (xy[:, 0] <= 54) & (xy[:, 1] >= 73) & (xy[:, 1] <= 136)
    return bool(swapped.mean() >= 0.8)


def _problem(spec: LayerSpec, en: str, zh: str, fix_en: str = "", fix_zh: str = "", severity: str = "error", **kw) -> Problem:
    return Problem(spec.name, str(spec.path), en, zh, fix_en=fix_en, fix_zh=fix_zh, severity=severity, **kw)


def _swap_fix(spec: LayerSpec, xy_cols: tuple[str, str] | None) -> tuple[str, str]:
    if xy_cols:
        return (f"swap them: set x = \"{xy_cols[1]}\" and y = \"{xy_cols[0]}\" under [layers.{spec.name}]",
                f"在 [layers.{spec.name}] 下设置 x = \"{xy_cols[1]}\"、y = \"{xy_cols[0]}\" 以交换两列")
    return ("export the layer again with longitude as x and latitude as y", "重新导出图层，使经度为 x、纬度为 y")


def _gk_for_alias(width: int, xy: np.ndarray, spec: LayerSpec, near) -> GaussKruger | None:
    """The zone meant by ``crs = "CGCS2000-GK3"`` / ``"GK6"``: from the easting prefix, else the district."""
    found = gk_from_eastings(xy[:, 0]) if len(xy) else None
    if found is not None:
        if found.width != width:
            raise _ReadError(
                f"crs = \"{spec.crs}\" but the eastings carry the prefix of {found.label()}",
                f"配置 crs = \"{spec.crs}\"，但横坐标带号表明是 {found.label_zh()}",
                f"set crs = \"EPSG:{found.epsg}\"", f"设置 crs = \"EPSG:{found.epsg}\"")
        return found
    if near is not None:
        return gk_zone(width, lon=near[0])
    raise _ReadError(
        f"crs = \"{spec.crs}\": the eastings have no zone prefix and the district is not known yet, so the zone cannot be worked out",
        f"crs = \"{spec.crs}\"：横坐标没有带号，且尚不知道行政区位置，无法确定投影带",
        "name the EPSG code, e.g. crs = \"EPSG:4549\" (3° zone, CM 120°E)",
        "请直接填写 EPSG 代码，如 crs = \"EPSG:4549\"（3 度带，中央经线 120°E）")


def _check_gk_variant(gk: GaussKruger, xy: np.ndarray, spec: LayerSpec, source: str, problems: list[Problem]) -> CRS | None:
    """Correct a GK CRS whose zone-prefix variant disagrees with the eastings (a warning says what changed)."""
    if len(xy) == 0:
        return None
    zone = gk_prefix_zone(xy[:, 0])
    prefixed = bool(np.median(np.abs(xy[:, 0])) >= 1_000_000)
    if gk.prefix and not prefixed:
        right = gk_zone(gk.width, zone=gk.zone, prefix=False)
    elif not gk.prefix and zone is not None or gk.prefix and zone is not None and zone != gk.zone:
        right = gk_zone(6 if zone <= 23 else 3, zone=zone, prefix=True)
    else:
        return None
    what = "with" if right.prefix else "without"
    problems.append(_problem(
        spec, f"{source} is {gk.label()} but the eastings are {what} a zone prefix: read as {right.label()}",
        f"{'文件' if source == 'the file' else '配置'}声明为 {gk.label_zh()}，但横坐标{'带' if right.prefix else '不带'}带号：已按 {right.label_zh()} 读取",
        f"set crs = \"EPSG:{right.epsg}\" under [layers.{spec.name}] to silence this",
        f"在 [layers.{spec.name}] 下设置 crs = \"EPSG:{right.epsg}\" 可消除此提示", severity="warning"))
    return right.crs


def _gk_without_prefix(xy: np.ndarray, near) -> GaussKruger | None:
    """The CGCS2000 GK zone (3° or 6°, no prefix) that puts these metres nearest the district point ``near``.

    Gauss-Krüger eastings without a zone prefix look alike in every zone; the zone of the district's own
    longitude (and its 3° neighbours) is tried, and the one whose points land within 50 km of the district wins.
    """
    if near is None or len(xy) == 0:
        return None
    e, n = np.median(xy[:, 0]), np.median(xy[:, 1])
    if not (100_000 <= e <= 900_000 and 0 < n < 6_500_000):
        return None
    # The zones that contain the district first (3°, then 6°), then the 3° neighbours: a neighbour's CM can equal
    # the 6° zone's (117°E), the same projection, and the zone containing the district is the likelier name for it.
    candidates = []
    for width, shift in ((3, 0), (6, 0), (3, -3), (3, 3)):
        try:
            home = gk_zone(width, lon=near[0])
            candidates.append(gk_zone(width, central_meridian=home.central_meridian + shift))
        except ValueError:
            pass
    from .crs import transformer

    best = None
    for gk in candidates:
        lon, lat = transformer(gk.crs, WGS84).transform(e, n)
        d = _geodesic_m(lon, lat, *near)
        if best is None or d < best[0]:
            best = (d, gk)
    return best[1] if best is not None and best[0] < 50_000 else None


def _geodesic_m(lon1, lat1, lon2, lat2) -> float:
    from pyproj import Geod

    return float(Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2])


def _infer_crs(xy: np.ndarray, near) -> tuple[CRS, str, str] | None:
    """A CRS for coordinates that came without one, from their ranges: ``(crs, English, Chinese)`` or None.

    Longitude/latitude ranges → EPSG:4326; eastings with a zone prefix → that GK zone; plain GK metres →
    the zone that puts them in the district (:func:`_gk_without_prefix`).
    """
    if len(xy) == 0:
        return None
    if _is_lonlat(xy):
        return WGS84, "longitude/latitude, read as WGS84 (EPSG:4326)", "经纬度，已按 WGS84（EPSG:4326）读取"
    found = gk_from_eastings(xy[:, 0]) or _gk_without_prefix(xy, near)
    if found is None:
        return None
    how = "a zone prefix in the eastings" if found.prefix else "metres that fall in the district in this zone only"
    how_zh = "横坐标带有带号" if found.prefix else "按该投影带换算后恰好落在行政区内"
    return found.crs, f"Gauss-Krüger metres ({how}), read as {found.label()}", f"高斯-克吕格米制坐标（{how_zh}），已按 {found.label_zh()} 读取"


def _to_wgs84(gdf: gpd.GeoDataFrame, declared: str | None, spec: LayerSpec, problems: list[Problem],
              implicit: bool = False, xy_cols: tuple[str, str] | None = None, near=None) -> gpd.GeoDataFrame:
    """Put the layer in EPSG:4326 from the declared CRS (config), the file's own CRS, or a detected one.

    ``implicit``: the declared CRS is only the CSV/Excel default (WGS84), not the planner's word.
    """
    xy = _coords(gdf)
    key = declared.upper().replace("_", "-") if declared else None
    try:
        parsed = CRS.from_user_input(declared) if declared and key not in _OFFSET_SYSTEMS and key not in GK_ALIASES else None
    except CRSError:
        parsed = None
    geographic = key in _OFFSET_SYSTEMS or implicit or (parsed or gdf.crs) is not None and (parsed or gdf.crs).is_geographic
    if geographic and _looks_swapped(xy):
        fix_en, fix_zh = _swap_fix(spec, xy_cols)
        problems.append(_problem(spec, "longitude and latitude look swapped: the x values are latitudes (3-54) and the y values longitudes (73-135)",
                                 "经纬度似乎颠倒：x 值像纬度（3–54），y 值像经度（73–135）", fix_en, fix_zh))
        return gdf.iloc[0:0]
    if key in _OFFSET_SYSTEMS:
        gdf = gdf.set_crs(WGS84, allow_override=True)
        gdf["geometry"] = convert_geometry(gdf.geometry.values, _OFFSET_SYSTEMS[key])
        return gdf
    if key in GK_ALIASES:
        gk = _gk_for_alias(GK_ALIASES[key], xy, spec, near)
        return gdf.set_crs(gk.crs, allow_override=True).to_crs(WGS84)
    crs = gdf.crs
    source = "the file"
    if declared:
        try:
            crs = CRS.from_user_input(declared)
        except CRSError:
            problems.append(_problem(spec, f"unknown CRS '{declared}'", f"无法识别坐标系“{declared}”",
                                     "use e.g. EPSG:4326, EPSG:4490, EPSG:4549, CGCS2000-GK3, GCJ-02 or BD-09",
                                     "请填写如 EPSG:4326、EPSG:4490、EPSG:4549、CGCS2000-GK3、GCJ-02 或 BD-09"))
            return gdf.iloc[0:0]
        source = "the config" if not implicit else "the default"
    if implicit and len(xy) and not _is_lonlat(xy):
        found = gk_from_eastings(xy[:, 0])
        if found is not None:
            problems.append(_problem(
                spec, f"no CRS given; the eastings carry a zone prefix, read as {found.label()}",
                f"未指定坐标系；横坐标带有带号，已按 {found.label_zh()} 读取",
                f"set crs = \"EPSG:{found.epsg}\" under [layers.{spec.name}] to confirm",
                f"在 [layers.{spec.name}] 下设置 crs = \"EPSG:{found.epsg}\" 以确认", severity="warning"))
            crs = found.crs
        else:
            crs = None  # plain metres: inferred below from the district, like a Shapefile without .prj
    if crs is None:
        inferred = _infer_crs(xy, near)
        what_en = "the file has no coordinate reference system" if not implicit else "no CRS is given"
        what_zh = "文件没有坐标系信息" if not implicit else "未指定坐标系"
        if inferred is None:
            gk_like = len(xy) and not _is_lonlat(xy)
            code = "EPSG:4549" if gk_like else "EPSG:4326"
            problems.append(_problem(
                spec, f"{what_en} and it cannot be told from the coordinates"
                + (" (Gauss-Krüger metres without a zone prefix: the zone depends on where the district is)" if gk_like else ""),
                f"{what_zh}，且无法从坐标判断" + ("（高斯-克吕格米制坐标且无带号：投影带取决于行政区位置）" if gk_like else ""),
                f"add crs = \"EPSG:…\" under [layers.{spec.name}] naming the file's CRS"
                + (" (CGCS2000 3° zones without prefix: EPSG:4534-4554, e.g. EPSG:4549 for central meridian 120°E; "
                   "6° zones: EPSG:4502-4512)" if gk_like else f", e.g. crs = \"{code}\""),
                f"在 [layers.{spec.name}] 下加上 crs = \"EPSG:…\"，填写文件实际坐标系"
                + ("（CGCS2000 3 度带无带号：EPSG:4534–4554，如中央经线 120°E 为 EPSG:4549；6 度带：EPSG:4502–4512）" if gk_like
                   else f"，如 crs = \"{code}\"")))
            return gdf.iloc[0:0]
        crs, how_en, how_zh = inferred
        epsg = crs.to_epsg()
        problems.append(_problem(
            spec, f"{what_en}; the coordinates are {how_en}", f"{what_zh}；坐标为{how_zh}",
            f"set crs = \"EPSG:{epsg}\" under [layers.{spec.name}] to confirm (or name the right one)",
            f"在 [layers.{spec.name}] 下设置 crs = \"EPSG:{epsg}\" 以确认（或填写实际坐标系）", severity="warning"))
    gk = gk_from_crs(crs)
    if gk is not None:
        crs = _check_gk_variant(gk, xy, spec, source, problems) or crs
    elif crs.is_geographic and len(xy) and not _is_lonlat(xy):
        found = gk_from_eastings(xy[:, 0])
        problems.append(_problem(
            spec, f"{source} says {crs.name} (degrees) but the coordinates are not longitude/latitude (e.g. {xy[0, 0]:.1f}, {xy[0, 1]:.1f})",
            f"坐标系为 {crs.name}（度），但坐标不是经纬度（如 {xy[0, 0]:.1f}, {xy[0, 1]:.1f}）",
            f"set crs = \"{f'EPSG:{found.epsg}' if found else 'CGCS2000-GK3'}\" (or the right projected CRS) under [layers.{spec.name}]",
            f"在 [layers.{spec.name}] 下设置 crs = \"{f'EPSG:{found.epsg}' if found else 'CGCS2000-GK3'}\"（或实际投影坐标系）"))
        return gdf.iloc[0:0]
    return gdf.set_crs(crs, allow_override=True).to_crs(WGS84)


def _read_vector(path: Path, spec: LayerSpec, problems: list[Problem]) -> gpd.GeoDataFrame:
    import pyogrio

    suffix = path.suffix.lower()
    encoding = spec.encoding or (_shapefile_encoding(path) if suffix == ".shp" else None)
    kwargs = {"encoding": encoding} if encoding else {}
    if suffix == ".shp" and spec.encoding is None and encoding not in (None, "utf-8"):
        # repaired, but the planner must know which encoding was assumed (a wrong guess garbles names)
        label = encoding.upper() + (" (GBK)" if encoding == "gb18030" else "")
        problems.append(_problem(
            spec, f"no .cpg file says the shapefile's text encoding: read the .dbf as {label}, detected from its bytes",
            f"没有 .cpg 文件说明 Shapefile 的文字编码：已按 {label} 读取 .dbf（由其内容判断）",
            f"to confirm, set encoding = \"{encoding}\" under [layers.{spec.name}] (or add a .cpg file containing GBK)",
            f"可在 [layers.{spec.name}] 下设置 encoding = \"{encoding}\" 以确认（或添加内容为 GBK 的 .cpg 文件）",
            severity="warning"))
    if suffix == ".shp" and not path.with_suffix(".dbf").exists() and not path.with_suffix(".DBF").exists():
        raise _ReadError("the shapefile has no .dbf file beside it (attributes missing)", "Shapefile 缺少同名 .dbf 文件（属性表）",
                         "copy all parts of the shapefile (.shp, .shx, .dbf, .prj, .cpg)", "复制 Shapefile 的全部文件（.shp、.shx、.dbf、.prj、.cpg）")
    layers = [str(name) for name, _ in pyogrio.list_layers(path)] if suffix in (".gpkg", ".sqlite") else []
    if spec.layer:
        if layers and spec.layer not in layers:
            raise _ReadError(f"no layer '{spec.layer}' in the file; layers are {', '.join(layers)}",
                             f"文件中没有图层“{spec.layer}”；现有图层：{'、'.join(layers)}",
                             "set layer = \"…\" to one of those names", "把 layer 设为上述图层之一")
        kwargs["layer"] = spec.layer
    elif len(layers) > 1:
        problems.append(_problem(spec, f"the file has {len(layers)} layers ({', '.join(layers)}); reading '{layers[0]}'",
                                 f"文件含 {len(layers)} 个图层（{'、'.join(layers)}）；读取了“{layers[0]}”",
                                 f"set layer = \"…\" under [layers.{spec.name}]", f"在 [layers.{spec.name}] 下设置 layer = \"…\"",
                                 severity="warning"))
        kwargs["layer"] = layers[0]
    if suffix == ".shp":
        return _read_shapefile(path, kwargs.get("encoding"), spec, problems)
    return gpd.read_file(path, engine="pyogrio", **kwargs)


def _read_source(spec: LayerSpec, problems: list[Problem], near=None) -> gpd.GeoDataFrame | None:
    path = spec.path
    if not path.exists():
        problems.append(_problem(spec, "file not found", "找不到文件",
                                 f"check layers.{spec.name}.path in the config (relative to the config file)",
                                 f"检查配置中 layers.{spec.name}.path（相对于配置文件所在目录）"))
        return None
    suffix = path.suffix.lower()
    xy = None
    try:
        if path.is_file() and path.stat().st_size == 0:
            raise _ReadError("the file is empty", "文件为空", "export the layer again", "重新导出该图层")
        if suffix in (".csv", ".txt", ".xlsx", ".xlsm", ".xls"):
            df = read_table(path, spec.encoding, spec.sheet)
            if "siting_note" in df.attrs:
                problems.append(_problem(spec, *(x.replace("{layer}", spec.name) for x in df.attrs["siting_note"]),
                                         severity="warning"))
            xy = _xy_columns(df, spec)
            if xy is None or xy[0] not in df.columns or xy[1] not in df.columns:
                problems.append(_problem(
                    spec, f"no coordinate columns; columns are {', '.join(map(str, df.columns))}",
                    f"找不到坐标列；现有列：{'、'.join(map(str, df.columns))}",
                    f"name them 经度/纬度 or lon/lat, or set x = \"…\" and y = \"…\" under [layers.{spec.name}]",
                    f"把坐标列命名为 经度/纬度 或 lon/lat，或在 [layers.{spec.name}] 下设置 x、y"))
                return None
            x = pd.to_numeric(df[xy[0]], errors="coerce")
            y = pd.to_numeric(df[xy[1]], errors="coerce")
            for i in np.flatnonzero((x.isna() | y.isna()).to_numpy()):
                problems.append(_problem(spec, "coordinates missing or not numbers", "坐标为空或不是数字",
                                         "fill in the coordinates or delete the row", "补全坐标或删除该行",
                                         row=row_number(spec, i), column=f"{xy[0]}/{xy[1]}"))
            geom = gpd.points_from_xy(x.fillna(0), y.fillna(0))
            gdf = gpd.GeoDataFrame(df.drop(columns=list(xy)), geometry=geom, crs=None)
            gdf.loc[(x.isna() | y.isna()).to_numpy(), "geometry"] = None
            return _to_wgs84(gdf, spec.crs or "EPSG:4326", spec, problems, implicit=spec.crs is None, xy_cols=xy, near=near)
        gdf = _read_vector(path, spec, problems)
    except _ReadError as exc:
        problems.append(_problem(spec, exc.en, exc.zh, exc.fix_en, exc.fix_zh))
        return None
    except Exception as exc:  # the reader's own message is the useful part
        problems.append(_problem(spec, f"cannot read the file: {exc}", f"无法读取文件：{exc}",
                                 "check the format (GeoJSON, GeoPackage, Shapefile, CSV or Excel) and encoding",
                                 "检查文件格式（GeoJSON、GeoPackage、Shapefile、CSV 或 Excel）和编码"))
        return None
    return _to_wgs84(gdf, spec.crs, spec, problems, near=near)


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


def _generate_ids(gdf: gpd.GeoDataFrame, spec: LayerSpec, problems: list[Problem]) -> gpd.GeoDataFrame:
    """Give rows without an id a stable one from the layer and the row as the file shows it ("compounds-2"),
    with a note: planners' lists often have no code column, and "map a source column" cannot help then."""
    values = list(gdf["id"]) if "id" in gdf.columns else [None] * len(gdf)
    blank = [_is_blank(v) for v in values]
    if not any(blank):
        return gdf
    made = [f"{spec.name}-{row_number(spec, i)}" for i, b in enumerate(blank) if b]
    shown = ", ".join(made[:3]) + (", …" if len(made) > 3 else "")
    whole = "id" not in gdf.columns
    gdf = gdf.copy()
    gdf["id"] = [f"{spec.name}-{row_number(spec, i)}" if b else v for i, (v, b) in enumerate(zip(values, blank))]
    what_en = "no id column" if whole else f"{len(made)} row(s) without an id"
    what_zh = "没有编号列" if whole else f"{len(made)} 行没有编号"
    problems.append(_problem(
        spec, f"{what_en}: ids generated from the layer and the row ({shown}); the outputs use them",
        f"{what_zh}：已按图层和行号生成编号（{shown}），输出结果中使用这些编号",
        f"to use your own ids, add an 编号 column (or map yours under [layers.{spec.name}.columns] \"源列名\" = \"id\")",
        f"如需使用自己的编号，请加上“编号”列（或在 [layers.{spec.name}.columns] 中映射 \"源列名\" = \"id\"）",
        severity="note", column="id"))
    return gdf


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
        for alias in (f.name, f.zh, *f.aliases):
            if alias and alias in gdf.columns and alias not in rename:
                rename[alias] = f.name
                break
    gdf = gdf.rename(columns=rename)
    gdf = gdf.loc[:, ~gdf.columns.duplicated()]
    source_of = {target: str(source) for source, target in rename.items()}  # the planner's column names, for messages

    id_col = schema.id_field
    if id_col == "id":
        gdf = _generate_ids(gdf, spec, problems)
    ids = gdf[id_col].astype(str).where(gdf[id_col].notna(), None) if id_col and id_col in gdf else pd.Series([None] * len(gdf), index=gdf.index)
    inferred = schema.extra.get("inferred", ())
    labels = [n.strip() if isinstance(n, str) and n.strip() else None for n in gdf["name"]] if "name" in gdf and id_col != "name" else [None] * len(gdf)
    vocab = schema.extra.get("vocab", {})
    out = {}
    for f in schema.fields:
        if f.name not in gdf.columns:
            if f.required and f.name not in inferred:
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
            if err is None and value is None and f.required and f.name not in inferred:
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
                            row=row_number(spec, i), id=ids.iloc[i], name=labels[i], column=source_of.get(f.name, f.name), field=f.name,
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
        label = gdf["name"].iloc[i] if "name" in gdf and id_col != "name" and isinstance(gdf["name"].iloc[i], str) else None
        if g is None or g.is_empty:
            problems.append(Problem(spec.name, file, "geometry is missing or empty", "几何为空", row=row_number(spec, i), id=rid, name=label,
                                    fix_en="draw the feature or delete the row", fix_zh="补绘要素或删除该行"))
            keep[i] = False
            continue
        if g.geom_type not in schema.geometry:
            problems.append(Problem(spec.name, file, f"geometry is {g.geom_type}; expected {' or '.join(schema.geometry)}",
                                    f"几何类型为 {g.geom_type}，应为 {' 或 '.join(schema.geometry)}", row=row_number(spec, i), id=rid, name=label,
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
                                        row=row_number(spec, i), id=rid, name=label, severity="warning"))
            else:
                problems.append(Problem(spec.name, file, f"invalid geometry: {reason}", f"几何无效：{reason}", row=row_number(spec, i), id=rid, name=label,
                                        fix_en=f"fix it in GIS, or set repair = true under [layers.{spec.name}]",
                                        fix_zh=f"在 GIS 中修复，或在 [layers.{spec.name}] 下设置 repair = true"))
                keep[i] = False
    gdf = gdf.set_geometry(geoms)
    if id_col and id_col in gdf:
        ids = gdf[id_col]
        dup = ids.notna() & ids.duplicated(keep=False)
        for value in sorted(set(ids[dup].astype(str))):
            rows = [row_number(spec, i) for i in np.flatnonzero((ids.astype(str) == value).to_numpy())]
            problems.append(Problem(spec.name, file, f"id '{value}' is used by rows {', '.join(map(str, rows))}",
                                    f"编号“{value}”重复，出现在第 {'、'.join(map(str, rows))} 行", id=value, column=id_col,
                                    fix_en="give each feature its own id", fix_zh="为每个要素设置唯一编号"))
    return gdf[keep]


def read_layer(spec: LayerSpec, problems: list[Problem] | None = None, near: tuple[float, float] | None = None) -> gpd.GeoDataFrame:
    """Read one layer, map its columns and values onto the schema, check it, return it in EPSG:4326.

    Never changes the input file. An unexpected failure of a reader becomes a problem naming the file.

    Parameters
    ----------
    spec : LayerSpec
        Where the layer is and how its columns map (from the project config).
    problems : list of Problem, optional
        Problems are appended here; when omitted, any error raises :class:`DataError` at once.
    near : (lon, lat), optional
        A point in the district, used to work out the zone for ``crs = "CGCS2000-GK3"`` / ``"GK6"``
        when the eastings carry no zone prefix.
    """
    own = problems is None
    problems = [] if own else problems
    schema = SCHEMAS[spec.name]
    start = len(problems)
    empty = gpd.GeoDataFrame({f.name: [] for f in schema.fields}, geometry=[], crs=WGS84)
    try:
        gdf = _read_source(spec, problems, near)
        if gdf is not None:
            if len(gdf) == 0:
                # One message for an empty layer, never a dozen about the columns of rows that do not exist
                # (an empty GeoJSON has no columns at all). Empty optional layers are legal.
                if not any(p.severity == "error" for p in problems[start:]):
                    required = spec.name in ("boundary", "compounds")
                    problems.append(_problem(spec, "the layer has no features", "图层中没有要素",
                                             "check the file and the sheet or layer name", "检查文件及工作表或图层名称",
                                             severity="error" if required else "warning"))
                gdf = empty
            else:
                gdf = gdf.reset_index(drop=True)
                gdf = _conform(gdf, spec, schema, problems)
                gdf = _check_geometry(gdf, spec, schema, problems)
        else:
            gdf = empty
    except _ReadError as exc:
        problems.append(_problem(spec, exc.en, exc.zh, exc.fix_en, exc.fix_zh))
        gdf = empty
    except Exception as exc:  # never a bare traceback: name the file
        log.debug("unexpected error reading %s", spec.path, exc_info=True)
        problems.append(_problem(spec, f"cannot read the layer ({type(exc).__name__}: {exc})",
                                 f"无法读取该图层（{type(exc).__name__}：{exc}）",
                                 "check the file opens in GIS; report the message if it does",
                                 "检查文件能否在 GIS 软件中打开；若能打开，请反馈此信息"))
        gdf = empty
    if own:
        raise_for_problems(problems[start:])
    return gdf


# ---------------------------------------------------------------------------------------- roads and offsets

# A point layer "looks shifted" when moving it by the GCJ-02 (or BD-09) inverse brings most points
# closer to the nearest road (share >= _SHIFT_CLOSER_SHARE) and the mean of log(1 + distance) falls by
# at least _SHIFT_MIN_LOG_GAIN. Tuned on synthetic tests: the demo district's facilities (synthetic
# WGS84, about 30 m from a road) shifted by the forward formulas score 0.34-1.07 and 0.57-0.68; as they
# are, the inverse makes them worse (-0.36 to -1.2, 0.25-0.39); points on a road grid score far higher.
_SHIFT_MIN_LOG_GAIN = 0.25
_SHIFT_CLOSER_SHARE = 0.55
_SHIFT_MIN_POINTS = 5
# ... and beats the same shift turned through each of _SHIFT_TURNS - 1 other directions by as much (median):
# generated districts with facilities set back ~40 m from a dense grid gained 0.58 from the GCJ-02 inverse,
# but 0.17-0.57 (median 0.40) from the same shift turned, so the inverse was no sign of an offset.
_SHIFT_TURNS = 12


def roads_file_problems(spec: LayerSpec | None) -> list[Problem]:
    """The roads source named in the config exists and is an OSM extract."""
    if spec is None:
        return []
    if not spec.path.exists():
        return [_problem(spec, "file not found", "找不到文件",
                         "check layers.roads.path in the config, or get an extract with `siting fetch`",
                         "检查配置中 layers.roads.path，或用 `siting fetch` 获取 OSM 数据")]
    name = spec.path.name.lower()
    if not (name.endswith(".osm") or name.endswith(".osm.pbf") or name.endswith(".pbf") or name.endswith(".osm.xml")):
        return [_problem(spec, "not an OpenStreetMap extract (.osm or .osm.pbf)", "不是 OpenStreetMap 数据文件（.osm 或 .osm.pbf）",
                         "export the roads from OSM (e.g. Geofabrik) or run `siting fetch`",
                         "从 OSM 导出道路（如 Geofabrik），或运行 `siting fetch`")]
    if spec.path.stat().st_size == 0:
        return [_problem(spec, "the file is empty", "文件为空", "download the extract again", "重新下载该数据")]
    return []


def roads_problems(G, spec: LayerSpec) -> list[Problem]:
    """Warnings from the network report: road pieces dropped (disconnected or clipped extract)."""
    from .network.settings import REPORT_KEY

    report = G.graph.get(REPORT_KEY)
    out: list[Problem] = []
    if report is None:
        return out
    if report.dropped_components:
        out.append(_problem(
            spec,
            f"the road network is in {report.components} pieces: kept the largest ({report.nodes} nodes, {report.edges} edges), "
            f"dropped {report.dropped_components} piece(s) with {report.dropped_nodes} nodes and {report.dropped_edges} edges",
            f"路网分为 {report.components} 个互不连通的部分：保留最大部分（{report.nodes} 个节点、{report.edges} 条边），"
            f"舍弃 {report.dropped_components} 个部分共 {report.dropped_nodes} 个节点、{report.dropped_edges} 条边",
            "check the extract covers the whole district and its roads connect (bridges, missing links)",
            "检查数据是否覆盖全区、道路是否连通（桥梁、断头路）", severity="warning"))
    if report.dangling_refs:
        out.append(_problem(
            spec,
            f"{report.dangling_refs} node reference(s) in {len(report.dangling_ways)} way(s) point outside the file (clipped extract); those road pieces were dropped",
            f"{len(report.dangling_ways)} 条道路中有 {report.dangling_refs} 个节点不在文件中（数据被裁剪）；相应路段已舍弃",
            "use an extract that covers the district with a margin", "使用覆盖全区并留有余量的数据", severity="warning"))
    return out


def geometry_from_geojson(data: dict):
    """One shapely geometry from parsed GeoJSON: a FeatureCollection (united), a Feature or a bare
    geometry (as outline files ship them)."""
    from shapely.geometry import shape

    if data.get("type") == "FeatureCollection":
        return shapely.union_all([shape(f["geometry"]) for f in data["features"]])
    return shape(data.get("geometry", data))


def _road_lines(G, crs) -> shapely.STRtree:
    from .network.cache import graph_cache

    return shapely.STRtree(graph_cache(G, crs).lines(G)[2])  # the edges' metric lines, cached with the graph


def _distances(tree: shapely.STRtree, lon, lat, crs) -> np.ndarray:
    pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=WGS84).to_crs(crs).values
    (idx_pts, _), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    out = np.full(len(pts), np.nan)
    out[idx_pts] = dist
    return out


def _turned_gain(tree, lon, lat, lon1, lat1, d0, crs) -> float:
    """The median log-distance gain of the shift (lon, lat) → (lon1, lat1) turned by 30°, 60°, … 330°:
    what a displacement of that size does by chance."""
    c = np.cos(np.radians(lat))
    dx, dy = (np.asarray(lon1) - lon) * c, np.asarray(lat1) - lat
    gains = []
    for k in range(1, _SHIFT_TURNS):
        a = 2 * np.pi * k / _SHIFT_TURNS
        tx, ty = dx * np.cos(a) - dy * np.sin(a), dx * np.sin(a) + dy * np.cos(a)
        d = _distances(tree, lon + tx / c, lat + ty, crs)
        ok = np.isfinite(d0) & np.isfinite(d)
        gains.append(float(np.mean(np.log1p(d0[ok]) - np.log1p(d[ok]))) if ok.any() else 0.0)
    return float(np.median(gains))


def offset_problems(layers: dict[str, gpd.GeoDataFrame], specs: dict[str, LayerSpec], G, crs) -> list[Problem]:
    """Warn about point layers that look like GCJ-02 or BD-09 coordinates declared as WGS84.

    Compares each layer's distances to the nearest road edge as declared and after the GCJ-02 (BD-09)
    inverse: a marked improvement, well beyond what the same shift turned other ways gives, means the
    points were offset.
    """
    out: list[Problem] = []
    tree = None
    for name, gdf in layers.items():
        spec = specs.get(name)
        if spec is None or len(gdf) < _SHIFT_MIN_POINTS:
            continue
        declared = (spec.crs or "").upper().replace("_", "-")
        if declared in _OFFSET_SYSTEMS:
            continue
        tree = tree if tree is not None else _road_lines(G, crs)
        pts = gdf.geometry.representative_point()
        lon, lat = pts.x.to_numpy(), pts.y.to_numpy()
        d0 = _distances(tree, lon, lat, crs)
        best = None
        for label, inverse in (("GCJ-02", gcj02_to_wgs84), ("BD-09", bd09_to_wgs84)):
            lon1, lat1 = inverse(lon, lat)
            d1 = _distances(tree, lon1, lat1, crs)
            ok = np.isfinite(d0) & np.isfinite(d1)
            if not ok.any():
                continue
            gain = float(np.mean(np.log1p(d0[ok]) - np.log1p(d1[ok])))
            closer = float(np.mean(d1[ok] < d0[ok]))
            if gain < _SHIFT_MIN_LOG_GAIN or closer < _SHIFT_CLOSER_SHARE:
                continue
            # Facilities set back from the roads of a dense network come closer to *some* road after almost any
            # shift of a few hundred metres: only an inverse that beats the same shift turned other ways is a sign.
            chance = _turned_gain(tree, lon, lat, lon1, lat1, d0, crs)
            if gain - chance >= _SHIFT_MIN_LOG_GAIN and (best is None or gain > best[0]):
                best = (gain, label, float(np.median(d0[ok])), float(np.median(d1[ok])))
        if best is not None:
            _, label, m0, m1 = best
            out.append(_problem(
                spec,
                f"looks like {label} coordinates declared as WGS84; set crs = \"{label}\" (median distance to the nearest "
                f"road: {m0:.0f} m as declared, {m1:.0f} m converted from {label})",
                f"疑似把 {label} 坐标当作 WGS84，请设置 crs = \"{label}\"（到最近道路的距离中位数：按现坐标 {m0:.0f} 米，"
                f"按 {label} 换算后 {m1:.0f} 米）",
                f"add crs = \"{label}\" under [layers.{name}] if the points were taken from "
                + ("AMap / Tencent maps" if label == "GCJ-02" else "Baidu maps"),
                f"若坐标取自{'高德或腾讯地图' if label == 'GCJ-02' else '百度地图'}，请在 [layers.{name}] 下加上 crs = \"{label}\"",
                severity="warning"))
    return out
