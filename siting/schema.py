"""One schema per layer: field names, types, allowed values and their Chinese synonyms.

Sources name their columns and categories however they like (``托位数``, ``托育机构``);
the project config maps columns to these fields, and the category synonyms below map
the values. Everything downstream sees only the canonical field names and codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Field", "LayerSchema", "SCHEMAS", "LAYERS", "VOCAB", "LABELS"]


@dataclass(frozen=True)
class Field:
    """A column of a layer.

    ``dtype`` is one of ``str``, ``int``, ``float``, ``bool``, ``date``, ``category``.
    A category field takes the codes of ``VOCAB[name]`` (or any of their synonyms).
    """

    name: str
    dtype: str
    required: bool = False
    description: str = ""
    zh: str = ""
    minimum: float | None = None
    aliases: tuple[str, ...] = ()  # other column names planners use for it, matched when no mapping is given


@dataclass(frozen=True)
class LayerSchema:
    name: str
    geometry: tuple[str, ...]
    fields: tuple[Field, ...]
    id_field: str | None = "id"
    zh: str = ""
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def get(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


# Category codes (English, used in code) → accepted synonyms (Chinese labels first: the first
# synonym is the label shown to users in Chinese).
VOCAB: dict[str, dict[str, tuple[str, ...]]] = {
    "township_kind": {
        "street": ("街道", "街道办事处", "street", "subdistrict"),
        "town": ("镇", "乡镇", "乡", "town", "township"),
    },
    "compound_kind": {
        "compound": ("小区", "居住小区", "社区", "residential compound", "compound"),
        "village": ("村", "行政村", "自然村", "村庄", "village"),
    },
    "compound_status": {
        "existing": ("现状", "已建", "已建成", "existing"),
        "new": ("新建", "在建", "new"),
        "planned": ("规划", "拟建", "planned"),
    },
    "childcare_kind": {
        "nursery": ("托育机构", "托育园", "托育中心", "nursery"),
        "kindergarten": ("幼儿园", "kindergarten"),
        "employer": ("单位自办", "用人单位托育", "企事业单位自办", "employer"),
        "community": ("社区托育点", "社区嵌入式托育", "community"),
    },
    "health_kind": {
        "mch_centre": ("妇幼保健计划生育服务中心", "妇幼保健院", "妇幼保健计划生育服务中心（区）", "mch_centre"),
        "township_health_centre": ("乡镇卫生院", "卫生院", "township_health_centre"),
        "community_health_centre": ("社区卫生服务中心", "community_health_centre"),
        "hospital": ("医院", "人民医院", "综合医院", "hospital"),
        "clinic": ("诊所", "卫生室", "村卫生室", "门诊部", "clinic"),
    },
    "parcel_status": {
        "idle": ("闲置", "闲置用地", "idle"),
        "inefficient": ("低效", "低效用地", "inefficient"),
    },
    "ownership": {
        "state": ("国有", "state"),
        "collective": ("集体", "collective"),
        "private": ("私有", "企业", "private"),
    },
}

BOOL_TRUE = ("是", "有", "已", "y", "yes", "true", "t", "1", "√")
BOOL_FALSE = ("否", "无", "未", "n", "no", "false", "f", "0", "×", "")

# Chinese labels for each code, for maps, tables and briefings.
LABELS: dict[str, dict[str, str]] = {v: {code: syn[0] for code, syn in codes.items()} for v, codes in VOCAB.items()}

_POLY = ("Polygon", "MultiPolygon")
_POINT = ("Point",)

SCHEMAS: dict[str, LayerSchema] = {
    "boundary": LayerSchema(
        "boundary",
        _POLY,
        (Field("name", "str", description="district name", zh="名称"),),
        id_field=None,
        zh="行政区边界",
        description="The district outline (one or more polygons, dissolved on load).",
    ),
    "townships": LayerSchema(
        "townships",
        _POLY,
        (
            Field("name", "str", True, "township name, unique", "乡镇（街道）名称"),
            Field("kind", "category", True, "street (街道) or town (镇)", "类型"),
            Field("population", "float", False, "resident population, if known", "常住人口", 0),
        ),
        id_field="name",
        zh="乡镇（街道）",
        description="Townships (乡镇/街道) partitioning the district.",
        extra={"vocab": {"kind": "township_kind"}},
    ),
    "compounds": LayerSchema(
        "compounds",
        _POLY + _POINT,
        (
            Field("id", "str", True, "unique id (generated from the layer and row when missing)", "编号", aliases=("小区编号", "代码")),
            Field("name", "str", True, "compound or village name", "名称",
                  aliases=("小区名称", "村庄名称", "小区（村）名称", "小区/村名称", "小区或村名称", "项目名称")),
            Field("township", "str", False, "township name (filled by spatial join when missing)", "所属乡镇",
                  aliases=("乡镇", "乡镇（街道）", "所属乡镇（街道）", "所属街道", "镇街")),
            Field("kind", "category", True, "compound (小区) or village (村); inferred from the name and township when missing",
                  "类型", aliases=("小区类型",)),
            Field("households", "int", False, "number of households", "户数", 0, aliases=("总户数", "住户数", "户数（户）")),
            Field("population", "float", False, "residents (else households × persons per household)", "人口", 0,
                  aliases=("常住人口", "人口数", "人口（人）")),
            Field("completed", "date", False, "completion date; a bare year means 31 December of it", "竣工日期",
                  aliases=("竣工年份", "竣工时间", "建成年份", "建成时间", "竣工年代")),
            Field("status", "category", False, "existing / new / planned (default existing)", "状态"),
        ),
        zh="居住小区与村庄（需求点）",
        description="Demand points: urban residential compounds (小区) and villages (村).",
        extra={"vocab": {"kind": "compound_kind", "status": "compound_status"}, "inferred": ("kind",)},
    ),
    "childcare": LayerSchema(
        "childcare",
        _POINT,
        (
            Field("id", "str", True, "unique id (generated from the layer and row when missing)", "编号"),
            Field("name", "str", True, "facility name", "名称", aliases=("机构名称", "托育机构名称", "幼儿园名称")),
            Field("kind", "category", True, "nursery / kindergarten / employer / community", "类型"),
            Field("township", "str", False, "township name (filled by spatial join when missing)", "所属乡镇"),
            Field("places", "int", False, "childcare places (托位) for under-3s", "托位数", 0),
            Field("classes", "int", False, "classes for under-3s (托班 for kindergartens)", "托班（班级）数", 0),
            Field("registered", "bool", False, "registered (登记) with the registration authority", "已登记"),
            Field("filed", "bool", False, "filed (备案) with the district health commission", "已备案"),
            Field("inclusive", "bool", False, "inclusive (普惠) facility", "普惠"),
            Field("enrolled", "int", False, "children enrolled under 3", "在托人数", 0),
            Field("caregivers", "int", False, "caregivers (保育人员)", "保育人员数", 0),
            Field("largest_class", "int", False, "largest class size", "最大班额", 0),
            Field("class_type", "str", False, "乳儿班 / 托小班 / 托大班 / 混龄班 of the largest class", "班型"),
            Field("floor", "int", False, "highest floor with children's rooms", "所在楼层"),
        ),
        zh="托育机构与幼儿园",
        description="Nurseries, kindergartens (with or without 托班), employer and community facilities.",
        extra={"vocab": {"kind": "childcare_kind"}},
    ),
    "health": LayerSchema(
        "health",
        _POINT,
        (
            Field("id", "str", True, "unique id (generated from the layer and row when missing)", "编号"),
            Field("name", "str", True, "name", "名称", aliases=("机构名称",)),
            Field("kind", "category", True, "mch_centre / township_health_centre / community_health_centre / hospital / clinic", "类型"),
            Field("township", "str", False, "township name (filled by spatial join when missing)", "所属乡镇"),
        ),
        zh="医疗卫生机构",
        description="The district MCH centre, township health centres, hospitals and clinics.",
        extra={"vocab": {"kind": "health_kind"}},
    ),
    "parcels": LayerSchema(
        "parcels",
        _POLY,
        (
            Field("id", "str", True, "parcel code (generated from the layer and row when missing)", "地块编码",
                  aliases=("地块编号", "编号")),
            Field("area", "float", False, "land area in m² (computed from the polygon when missing)", "面积（㎡）", 0,
                  aliases=("面积", "用地面积", "地块面积")),
            Field("land_use", "str", False, "current land use", "现状用途"),
            Field("status", "category", False, "idle (闲置) or inefficient (低效)", "状态"),
            Field("ownership", "category", False, "state / collective / private", "权属"),
            Field("township", "str", False, "township name (filled by spatial join when missing)", "所属乡镇"),
        ),
        zh="闲置与低效用地",
        description="Idle or inefficient land parcels, candidate sites.",
        extra={"vocab": {"status": "parcel_status", "ownership": "ownership"}},
    ),
}

LAYERS = tuple(SCHEMAS)
