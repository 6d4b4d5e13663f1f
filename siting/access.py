"""Accessibility along roads: the floating catchment area family (2SFCA, E2SFCA, Gaussian 2SFCA, 3SFCA).

Every function works on a sparse (demand points × facilities) cost matrix such as
:func:`siting.network.od_matrix` or :func:`siting.optimize.cost_matrix` returns: a stored
entry is a reachable pair (an explicit 0 costs 0), an absent one is out of reach. Sums run
over the stored pairs only (``np.bincount``), so memory grows with the pairs within reach,
never with demand points × facilities.

Conventions follow PySAL ``access`` (Saxon et al. 2021, the reference implementation), and
are tested equal to it: a pair is within the catchment when ``cost <= catchment``; a distance
weight multiplies the demand in step 1 and the ratio in step 2; a step weight function gives
each pair the weight of the smallest bound ``>= cost`` and 0 beyond the largest. Where
``access`` leaves a demand point with no facility in reach as NaN, these functions give 0
(no places in reach is no access), and a facility with no demand in reach serves nobody.
"""

from __future__ import annotations

import copy
import dataclasses
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .config import Config
from .crs import WGS84
from .equity import equity_table, lorenz
from .errors import ConfigError, ModelError
from .i18n import t
from .models._base import CostMatrix, _vector

__all__ = ["DECAYS", "SCENARIOS", "AccessResult", "decay_weights", "fca2", "fca3", "access_index", "access_decay",
           "access_threshold", "plan_sites"]

DECAYS = ("step", "gaussian", "gravity")


def _err(en: str, zh: str) -> ModelError:
    return ModelError(en, zh)


def _pairs(cost, catchment) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Stored pairs of a validated sparse cost matrix as (row, col, cost, catchment of the row)."""
    if not sp.issparse(cost):
        raise _err("cost must be a scipy.sparse matrix of the reachable pairs (e.g. from siting.network.od_matrix); "
                   "for a small dense array keep its finite entries: r, c = np.nonzero(np.isfinite(cost)); "
                   "cost = scipy.sparse.coo_array((cost[r, c], (r, c)), shape=cost.shape).",
                   "cost 必须是只存可达组合的 scipy.sparse 稀疏矩阵（如 siting.network.od_matrix 的结果）；"
                   "小的稠密数组请只保留有限值：r, c = np.nonzero(np.isfinite(cost)); "
                   "cost = scipy.sparse.coo_array((cost[r, c], (r, c)), shape=cost.shape)。")
    n, m = cost.shape
    limit = np.asarray(catchment, dtype=float)
    if limit.ndim == 0:
        limit = np.full(n, float(limit))
    if limit.shape != (n,):
        raise _err(f"catchment must be one number or one per demand point ({n}), got shape {limit.shape}.",
                   f"catchment 必须是一个数，或每个需求点一个（{n} 个），实际形状为 {limit.shape}。")
    if np.isnan(limit).any() or (limit < 0).any():
        bad = int(np.flatnonzero(np.isnan(limit) | (limit < 0))[0])
        raise _err(f"catchment must be >= 0 (np.inf for no limit); catchment[{bad}] = {limit[bad]:g}.",
                   f"catchment 必须 >= 0（不设上限用 np.inf）；第 {bad} 个为 {limit[bad]:g}。")
    if n == 0 or m == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), np.zeros(0), n, m
    csr = CostMatrix(cost).csr
    row = np.repeat(np.arange(n), np.diff(csr.indptr))
    return row, csr.indices.astype(np.int64), csr.data, limit[row], n, m


def decay_weights(cost: np.ndarray, catchment, decay=None, *, beta: float = 1.0, min_cost: float = 0.0,
                  beyond: bool = False) -> np.ndarray:
    """Distance-decay weight of each pair (0 beyond its catchment).

    Parameters
    ----------
    cost : array
        Cost of each pair (metres, seconds or a share of the catchment).
    catchment : float or array
        The catchment of each pair, in the same unit (used by "gaussian" and to zero pairs beyond it).
    decay : None, "step", "gaussian", "gravity", mapping or callable
        - None or "step": 1 within the catchment (Luo & Wang 2003, 2SFCA).
        - "gaussian": the Gaussian of Dai (2010), popularised as Gaussian 2SFCA by Wang (2012):
          :math:`w = (e^{-\\frac12 (d/d_0)^2} - e^{-\\frac12}) / (1 - e^{-\\frac12})` for
          :math:`d \\le d_0`, so 1 at the facility and 0 at the catchment's edge.
        - "gravity": :math:`w = \\max(d, d_{min})^{-\\beta}` (the gravity weight used in 2SFCA
          by Luo & Qi 2009 and Wang 2012); ``min_cost`` keeps it finite at 0.
        - mapping {bound: weight}: stepped weights as in the enhanced 2SFCA (E2SFCA, Luo & Qi 2009):
          a pair gets the weight of the smallest bound ``>= cost``, 0 beyond the largest bound
          (the convention of ``access.weights.step_fn``).
        - callable: ``f(cost_array) -> weights_array`` (vectorised, non-negative, finite).
    beta : float
        Exponent of the "gravity" decay (> 0).
    min_cost : float
        Costs below this count as ``min_cost`` in the "gravity" decay.
    beyond : bool
        Keep the decay's own weight for pairs beyond the catchment instead of 0 (for
        :func:`fca3` ``selection="all"``; the Gaussian is 0 there by definition).

    Returns
    -------
    numpy.ndarray
        One weight per pair, >= 0.
    """
    cost = np.asarray(cost, dtype=float)
    limit = np.broadcast_to(np.asarray(catchment, dtype=float), cost.shape)
    used = np.ones(cost.shape, dtype=bool) if beyond else cost <= limit
    if decay is None or (isinstance(decay, str) and decay == "step"):
        w = np.ones_like(cost)
    elif isinstance(decay, str) and decay == "gaussian":
        edge = np.exp(-0.5)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(cost > 0, cost / limit, 0.0)
        w = np.clip((np.exp(-0.5 * ratio**2) - edge) / (1.0 - edge), 0.0, None)
    elif isinstance(decay, str) and decay == "gravity":
        if not (isinstance(beta, numbers.Real) and beta > 0):
            raise _err(f"beta must be > 0 for the gravity decay, got {beta!r}.", f"重力衰减的 beta 必须 > 0，实际为 {beta!r}。")
        with np.errstate(divide="ignore"):
            w = np.maximum(cost, float(min_cost)) ** -float(beta)
        if not np.isfinite(w[used]).all():
            raise _err("the gravity decay is infinite at cost 0 (a demand point at a facility); set min_cost > 0, "
                       "e.g. min_cost=0.1 when costs are shares of the catchment.",
                       "成本为 0（需求点与设施重合）时重力衰减为无穷大；请设置 min_cost > 0，"
                       "例如成本为服务半径比例时设 min_cost=0.1。")
    elif isinstance(decay, str):
        raise _err(f"unknown decay {decay!r}; use one of {', '.join(DECAYS)}, a {{bound: weight}} mapping or a function.",
                   f"未知的距离衰减 {decay!r}；可用 {'、'.join(DECAYS)}、{{上界: 权重}} 分段表或函数。")
    elif isinstance(decay, Mapping):
        w = _steps(cost, decay)
    elif callable(decay):
        w = np.asarray(decay(cost), dtype=float)
        if w.shape != cost.shape:
            raise _err(f"the decay function must return one weight per cost (shape {cost.shape}), got {w.shape}; "
                       "wrap a scalar function with numpy.vectorize.",
                       f"衰减函数必须为每个成本返回一个权重（形状 {cost.shape}），实际为 {w.shape}；"
                       "标量函数请用 numpy.vectorize 包装。")
        bad = (~np.isfinite(w) | (w < 0)) & used
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise _err(f"the decay function gave {w[i]!r} at cost {cost[i]:g}; weights must be finite and >= 0.",
                       f"衰减函数在成本 {cost[i]:g} 处给出 {w[i]!r}；权重必须为有限非负数。")
    else:
        raise _err(f"decay must be None, a name, a mapping or a function, got {type(decay).__name__}.",
                   f"decay 必须是 None、名称、分段表或函数，实际为 {type(decay).__name__}。")
    return np.where(used, w, 0.0)


def _steps(cost: np.ndarray, steps: Mapping) -> np.ndarray:
    """E2SFCA weights: the weight of the smallest bound >= cost, 0 beyond the largest."""
    if not steps:
        raise _err("stepped decay needs at least one {bound: weight} step.", "分段衰减至少需要一个 {上界: 权重}。")
    bounds = sorted(steps, key=float)
    edges = np.array([float(k) for k in bounds])
    weights = np.array([float(steps[k]) for k in bounds])
    if (weights < 0).any() or not np.isfinite(weights).all():
        raise _err(f"stepped decay weights must be finite and >= 0, got {weights.tolist()}.",
                   f"分段衰减的权重必须为有限非负数，实际为 {weights.tolist()}。")
    idx = np.searchsorted(edges, cost, side="left")
    return np.where(idx < len(edges), weights[np.minimum(idx, len(edges) - 1)], 0.0)


def _inputs(cost, demand, supply, catchment):
    row, col, c, limit, n, m = _pairs(cost, catchment)
    demand = _vector(demand, n, "demand", "需求", "demand point")
    supply = _vector(supply, m, "supply", "供给", "facility")
    return row, col, c, limit, n, m, demand, supply


def _ratio(col, w_demand, m, supply) -> np.ndarray:
    """Step 1: supply over the weighted demand within each facility's catchment (0 where there is none)."""
    total = np.bincount(col, weights=w_demand, minlength=m)
    out = np.zeros(m)
    np.divide(supply, total, out=out, where=total > 0)
    return out


def fca2(cost, demand, supply, catchment=np.inf, decay=None, *, beta: float = 1.0, min_cost: float = 0.0,
         per: float = 1000.0) -> np.ndarray:
    """Two-step floating catchment area (2SFCA) access at each demand point, with optional distance decay.

    Step 1, at each facility *j*: :math:`R_j = S_j / \\sum_{k: d_{kj} \\le d_0} P_k\\, w(d_{kj})`.
    Step 2, at each demand point *i*: :math:`A_i = \\sum_{j: d_{ij} \\le d_0} R_j\\, w(d_{ij})`.

    With ``decay=None`` this is the 2SFCA of Luo & Wang (2003, Environment and Planning B 30(6):
    865-884); with stepped weights the enhanced 2SFCA of Luo & Qi (2009, Health & Place 15(4):
    1100-1107); with ``"gaussian"`` the Gaussian 2SFCA of Dai (2010, Health & Place 16(5):
    1038-1052) as reviewed by Wang (2012, Annals of the AAG 102(5): 1104-1112); with
    ``"gravity"`` the gravity-based 2SFCA (Luo & Qi 2009; Wang 2012). See :func:`decay_weights`.

    Parameters
    ----------
    cost : scipy.sparse matrix, shape (n demand points, m facilities)
        Stored entries are the reachable pairs (explicit zeros included); absent = unreachable.
    demand : array, shape (n,)
        Demand at each point, e.g. children under 3 (or residents).
    supply : array, shape (m,)
        Places at each facility.
    catchment : float or array of shape (n,)
        :math:`d_0`, inclusive, in the cost's unit; one per demand point for catchments by
        compound kind (the audit's street / town / village), np.inf for none. With costs given
        as a share of each compound's own catchment (:func:`siting.optimize.cost_matrix`) use 1.0.
    decay : None, "step", "gaussian", "gravity", mapping or callable
        See :func:`decay_weights`.
    beta, min_cost : float
        For ``decay="gravity"``.
    per : float
        Scale of the result: 1000 gives places per 1,000 demand units; 1 places per unit.

    Returns
    -------
    numpy.ndarray
        :math:`A_i \\times` ``per`` for each demand point; 0 where no facility is in reach.
    """
    row, col, c, limit, n, m, demand, supply = _inputs(cost, demand, supply, catchment)
    w = decay_weights(c, limit, decay, beta=beta, min_cost=min_cost)
    ratio = _ratio(col, demand[row] * w, m, supply)
    return np.bincount(row, weights=ratio[col] * w, minlength=n) * float(per)


def fca3(cost, demand, supply, catchment=np.inf, decay="gaussian", *, beta: float = 1.0, min_cost: float = 0.0,
         per: float = 1000.0, selection: str = "catchment") -> np.ndarray:
    """Three-step floating catchment area (3SFCA) access at each demand point.

    Wan, Zou & Sternberg (2012, International Journal of Geographical Information Science 26(6):
    1073-1089) add a selection weight so that demand is not counted whole at every facility in
    reach: step 1, :math:`G_{ij} = w(d_{ij}) / \\sum_{k \\in D_i} w(d_{ik})`, a Huff-like share of
    point *i*'s demand going to *j*; step 2,
    :math:`R_j = S_j / \\sum_{k: d_{kj} \\le d_0} G_{kj}\\, w(d_{kj})\\, P_k`; step 3,
    :math:`A_i = \\sum_{j: d_{ij} \\le d_0} G_{ij}\\, w(d_{ij})\\, R_j`.

    Parameters
    ----------
    cost, demand, supply, catchment, decay, beta, min_cost, per
        As in :func:`fca2`; the paper uses a Gaussian decay (the default here).
    selection : {"catchment", "all"}
        The facilities :math:`D_i` the selection weights are shared over: those within the
        catchment (the paper), or every stored pair of the row (``access.three_stage_fca``
        normalises over every pair of its cost table, before applying ``max_cost``).

    Returns
    -------
    numpy.ndarray
        :math:`A_i \\times` ``per`` for each demand point; 0 where no facility is in reach.
    """
    if selection not in ("catchment", "all"):
        raise _err(f"selection must be 'catchment' or 'all', got {selection!r}.",
                   f"selection 必须是 'catchment' 或 'all'，实际为 {selection!r}。")
    row, col, c, limit, n, m, demand, supply = _inputs(cost, demand, supply, catchment)
    w = decay_weights(c, limit, decay, beta=beta, min_cost=min_cost)
    sel = w if selection == "catchment" else decay_weights(c, limit, decay, beta=beta, min_cost=min_cost, beyond=True)
    total = np.bincount(row, weights=sel, minlength=n)
    g = np.zeros_like(w)
    np.divide(w, total[row], out=g, where=total[row] > 0)
    gw = g * w
    ratio = _ratio(col, demand[row] * gw, m, supply)
    return np.bincount(row, weights=ratio[col] * gw, minlength=n) * float(per)


# --------------------------------------------------------------------------- the index for a project


SCENARIOS = ("existing", "plan", "comply")


@dataclass
class AccessResult:
    """Access per compound before and after a plan, and how evenly it is spread.

    Attributes
    ----------
    compounds : GeoDataFrame
        ``id``, ``name``, ``township``, ``kind``, ``catchment``, ``children`` (the demand: under-3s, or
        residents with ``access.demand = "residents"``), then ``access_<scenario>`` per scenario
        (places per ``access.per`` children), compounds' geometry.
    equity : DataFrame
        Per scenario and township (the district last): children, weighted mean, min, max, Gini,
        share and number of children below the threshold (:func:`siting.equity.equity_table`).
    lorenz : DataFrame
        District Lorenz curve per scenario: ``scenario``, ``population_share``, ``access_share``.
    scenarios : list of str
        ``"existing"`` (facilities today), ``"plan"`` (with the proposed sites) and ``"comply"``
        (with the full-compliance plan), those that were computed.
    threshold : float
        Access below which a child counts as short (``access.threshold``, or the policy target).
    settings : dict
        Method, decay and units used, for tables and the briefing.
    """

    compounds: gpd.GeoDataFrame
    equity: pd.DataFrame
    lorenz: pd.DataFrame
    scenarios: list
    threshold: float
    settings: dict = field(default_factory=dict)

    def unit(self, lang: str = "zh") -> str:
        """The index's unit for people, e.g. 每千名婴幼儿托位数 / places per 1,000 children."""
        per = self.settings["per"]
        text = "千" if lang == "zh" and per == 1000 else f"{per:,.0f}"
        return t(f"access.unit_{self.settings['demand']}", lang, per=text)

    def district(self, scenario: str) -> dict:
        """The district row of :attr:`equity` for one scenario, as a dict."""
        rows = self.equity[(self.equity["scenario"] == scenario) & (self.equity["township"] == DISTRICT)]
        return rows.iloc[0].to_dict() if len(rows) else {}


DISTRICT = "全区合计"


def access_decay(config: Config):
    """The ``decay`` argument of :func:`fca2` / :func:`fca3` from the ``[access]`` settings."""
    decay = config["access.decay"]
    if decay != "steps":
        return decay
    bounds, weights = config["access.step_bounds"], config["access.step_weights"]
    ok = (isinstance(bounds, list) and isinstance(weights, list) and len(bounds) == len(weights) >= 1
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in bounds + weights))
    if not ok:
        raise ConfigError(
            f"access.step_bounds and access.step_weights must be lists of the same length of numbers >= 0 "
            f"(shares of the catchment and their weights, e.g. [0.333, 0.667, 1.0] and [1.0, 0.68, 0.22]), "
            f"got {bounds!r} and {weights!r}",
            f"access.step_bounds 与 access.step_weights 必须是等长的非负数列表（服务半径比例及其权重，"
            f"例如 [0.333, 0.667, 1.0] 与 [1.0, 0.68, 0.22]），实际为 {bounds!r} 和 {weights!r}")
    return {float(b): float(w) for b, w in zip(bounds, weights)}


def access_threshold(config: Config) -> float:
    """``access.threshold``, or (0) the policy target ``policy.places_per_1000`` in the index's unit."""
    given = float(config["access.threshold"])
    if given > 0:
        return given
    per_resident = config["policy.places_per_1000"] / 1000.0
    if config["access.demand"] == "children":
        return per_resident / config["demand.under3_share"] * config["access.per"]
    return per_resident * config["access.per"]


def _scaled(config: Config) -> Config:
    """The config with each kind's catchment limit times ``access.catchment_scale``."""
    scale = float(config["access.catchment_scale"])
    if scale == 1.0:
        return config
    params = copy.deepcopy(config.params)
    for group in ("street", "town", "village"):
        params["catchment"][f"{group}_limit"] = float(params["catchment"][f"{group}_limit"]) * scale
    return dataclasses.replace(config, params=params)


def plan_sites(optimize) -> dict:
    """{scenario: new sites} of an optimisation: the proposal, and the full-compliance plan when it was computed."""
    out = {}
    if optimize is None:
        return out
    out["plan"] = optimize.sites
    comply = getattr(optimize, "comply", None)  # siting.plan.ComplyResult (optimize.scenario = "comply")
    if comply is not None and getattr(comply, "sites", None) is not None and comply.sites is not optimize.sites:
        out["comply"] = comply.sites
    return out


def _columns(cost, cols: np.ndarray) -> sp.csr_array:
    """Some columns of a sparse matrix, keeping explicit zeros (scipy's column indexing may drop them)."""
    coo = sp.coo_array(cost)
    new = np.full(cost.shape[1], -1)
    new[cols] = np.arange(len(cols))
    keep = new[coo.col] >= 0
    return sp.csr_array((coo.data[keep], (coo.row[keep], new[coo.col[keep]])), shape=(cost.shape[0], len(cols)))


def access_index(project, audit, optimize=None, config: Config | None = None) -> AccessResult:
    """Access per compound with today's facilities and after each plan, with equity summaries.

    Each compound reaches the facilities within its own catchment along roads (street / town /
    village, as the audit: :func:`siting.optimize.cost_matrix`, costs as a share of the catchment,
    scaled by ``access.catchment_scale``). Demand is the compound's under-3 children (population ×
    ``demand.under3_share``) or residents; supply the places the audit counts at each facility,
    plus the places of each plan's new sites. The measure is ``access.method`` with
    ``access.decay`` (see :func:`fca2`, :func:`fca3`).

    Parameters
    ----------
    project : Project
    audit : siting.audit.AuditResult
    optimize : siting.optimize.OptimizeResult, optional
        Its ``sites`` give the "plan" scenario; its ``comply`` (the full-compliance plan), when
        present, the "comply" scenario.
    config : Config, optional
        Defaults to ``project.config``.
    """
    from .optimize import cost_matrix

    config = config or project.config
    compounds = audit.compounds
    existing = audit.childcare[audit.childcare["places_supply"] > 0]
    groups = {"existing": gpd.GeoDataFrame({"places": existing["places_supply"].to_numpy(float)},
                                           geometry=existing.geometry.to_numpy(), crs=existing.crs)}
    for name, sites in plan_sites(optimize).items():
        groups[name] = gpd.GeoDataFrame({"places": sites["places"].to_numpy(float)}, geometry=sites.geometry.to_numpy(),
                                        crs=sites.crs)
    everything = pd.concat([g.to_crs(WGS84) for g in groups.values()], ignore_index=True)
    everything = gpd.GeoDataFrame(everything, geometry="geometry", crs=WGS84)
    if len(everything) and len(compounds):
        cost = cost_matrix(project, compounds, everything, _scaled(config))
    else:
        cost = sp.csr_array((len(compounds), len(everything)))
    population = compounds["population"].astype(float).fillna(0.0).to_numpy()
    demand = population * config["demand.under3_share"] if config["access.demand"] == "children" else population
    measure = fca3 if config["access.method"] == "3sfca" else fca2
    kwargs = dict(decay=access_decay(config), beta=float(config["access.beta"]), min_cost=float(config["access.min_cost"]),
                  per=float(config["access.per"]))
    out = compounds[["id", "name", "township", "kind", "catchment"]].copy()
    out["children"] = demand
    sizes = [len(g) for g in groups.values()]
    ends = np.cumsum(sizes)
    supply = everything["places"].to_numpy(float)
    for (name, g), end in zip(groups.items(), ends):
        cols = np.r_[0:sizes[0], end - len(g):end] if name != "existing" else np.arange(sizes[0])
        out[f"access_{name}"] = measure(_columns(cost, cols), demand, supply[cols], 1.0, **kwargs)
    out = gpd.GeoDataFrame(out, geometry=compounds.geometry.to_numpy(), crs=compounds.crs)
    threshold = access_threshold(config)
    scenarios = list(groups)
    equity = pd.concat([equity_table(out, f"access_{s}", "children", threshold, total_label=DISTRICT)
                        .assign(scenario=s) for s in scenarios], ignore_index=True)
    equity = equity[["scenario", *[c for c in equity.columns if c != "scenario"]]]
    lorenz_df = pd.concat([lorenz(out[f"access_{s}"], out["children"]).assign(scenario=s) for s in scenarios],
                          ignore_index=True)[["scenario", "population_share", "access_share"]]
    settings = {"method": config["access.method"], "decay": config["access.decay"], "beta": float(config["access.beta"]),
                "demand": config["access.demand"], "per": float(config["access.per"]),
                "catchment_scale": float(config["access.catchment_scale"])}
    return AccessResult(out, equity, lorenz_df, scenarios, threshold, settings)
