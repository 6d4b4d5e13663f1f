"""The full-compliance plan by phase: which site opens in which quarter or year, late compounds first.

Phases run from the as-of date in quarters up to the remediation deadline (2027-04-17), then in
years (``optimize.phase_years``); each has a budget and a limit on the classes that can be built
(``optimize.phase_budget_quarter`` / ``_year``, ``optimize.phase_classes_quarter`` / ``_year``, a short
last quarter pro rata). :class:`siting.models.phased.PhasedCover` chooses, among the same candidates
as the full-compliance plan (compound rooms included), the classes to open in each phase so as to
minimise the place-days past deadline (violations counted ``optimize.phase_violation_weight`` times),
then the cost, then serving earlier deadlines first.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from .config import Config
from .errors import ConfigError
from .models._base import CostMatrix
from .models.phased import PhasedCover

__all__ = ["PhasedPlan", "phase_calendar", "phased_plan", "write_phases"]

log = logging.getLogger(__name__)


@dataclass
class PhasedPlan:
    """``table`` (one row per phase), ``compounds`` (flagged compounds with their phase) and ``summary``."""

    table: pd.DataFrame
    compounds: pd.DataFrame
    summary: dict
    calendar: pd.DataFrame


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def phase_calendar(as_of: dt.date, deadline: dt.date, config: Config) -> pd.DataFrame:
    """Phases: ``phase`` (1…), ``start``, ``end``, ``kind`` (quarter/year), ``budget`` (yuan), ``classes``."""
    years = int(config["optimize.phase_years"])
    rows, start = [], as_of
    while start < deadline:
        end = min(_add_months(start, 3), deadline)
        share = (end - start).days / (_add_months(start, 3) - start).days
        rows.append(("quarter", start, end, share))
        start = end
    for _ in range(years):
        end = _add_months(start, 12)
        rows.append(("year", start, end, 1.0))
        start = end
    if not rows:
        raise ConfigError("optimize.phase_years = 0 and the deadline has passed: no phase to plan; set phase_years >= 1",
                          "optimize.phase_years = 0 且整改期限已过，没有可安排的阶段；请将 phase_years 设为 1 或以上")
    out = []
    for i, (kind, s, e, share) in enumerate(rows, start=1):
        out.append({"phase": i, "kind": kind, "start": s, "end": e,
                    "budget": float(config[f"optimize.phase_budget_{kind}"]) * share,
                    "classes": int(np.floor(float(config[f"optimize.phase_classes_{kind}"]) * share + 1e-9))})
    return pd.DataFrame(out)


def _deadline_of(row, as_of: dt.date) -> dt.date:
    """The date a flagged compound is late from: its deadline; a violation since delivery (or today)."""
    d = row.deadline
    if isinstance(d, pd.Timestamp):
        d = d.date()
    return d if isinstance(d, dt.date) else as_of


def _late_matrix(flagged: pd.DataFrame, calendar: pd.DataFrame, as_of: dt.date, config: Config):
    """(late days per compound and phase + the tail, priority): see :class:`siting.models.phased.PhasedCover`."""
    vw = float(config["optimize.phase_violation_weight"])
    starts, ends = list(calendar["start"]), list(calendar["end"])
    tail = (ends[-1] - starts[-1]).days  # what is still unserved counts as late for one more last phase
    late = np.zeros((len(flagged), len(calendar) + 1))
    priority = np.zeros(len(flagged))
    for i, r in enumerate(flagged.itertuples()):
        due = _deadline_of(r, as_of)
        w = vw if r.compliance == "delivered_without_facility" else 1.0
        for s, (a, b) in enumerate(zip(starts, ends)):
            late[i, s] = w * max(0, (b - max(a, due)).days)
        late[i, -1] = w * (tail if due <= ends[-1] else max(0, tail - (due - ends[-1]).days))
        priority[i] = w / (1.0 + max(0, (due - as_of).days))
    return late, priority


def phased_plan(comply, as_of: dt.date, deadline: dt.date, config: Config) -> PhasedPlan:
    """Schedule the full-compliance candidates over the phases (see the module docstring).

    ``optimize.phase_sites = "comply"`` schedules the full-compliance plan's own sites and classes;
    ``"all"`` then chooses among every candidate, starting from that schedule, so it is never later.
    """
    cal = phase_calendar(as_of, deadline, config)
    flagged = comply.extra["flagged"]
    late, priority = _late_matrix(flagged, cal, as_of, config)
    limit = float(config["optimize.time_limit"])
    start = None
    if comply.model is not None and comply.model.modules is not None:
        keep, cands, model = _comply_schedule(comply, flagged, late, priority, cal, config)
        res = model.solve(time_limit=limit)
        if config["optimize.phase_sites"] == "comply" or res["status"] == "infeasible":
            return _finish(res, model, cal, flagged, cands, config, comply.townships)
        start = np.zeros((len(comply.candidates), len(cal)), dtype=np.int64)
        start[keep] = res["modules"]
    cands = comply.candidates
    matrix = comply.extra["matrix"]
    n = len(flagged)
    model = PhasedCover(CostMatrix(matrix).within(1.0) if n else np.zeros((1, len(cands)), bool),
                        flagged["unmet"].to_numpy(dtype=float) if n else np.zeros(1),
                        cands["places"].to_numpy(dtype=float), cands["cost"].to_numpy(dtype=float),
                        np.maximum(cands["classes"].to_numpy(dtype=float), 1),
                        late if n else np.zeros((1, len(cal) + 1)), cal["budget"].to_numpy(),
                        cal["classes"].to_numpy(dtype=float), priority if n else None)
    res = model.solve(time_limit=limit, start=start)
    res["owner"] = np.arange(n)
    return _finish(res, model, cal, flagged, cands, config, comply.townships)


def _comply_schedule(comply, flagged, late, priority, cal, config):
    """The phased model over the full-compliance plan's sites and classes, each compound served by the
    sites that plan assigns it (one demand row per compound and site, reachable by that site only)."""
    cands = comply.candidates
    classes = np.maximum(cands["classes"].to_numpy(dtype=float), 1)
    chosen = np.asarray(comply.model.modules)
    keep = np.flatnonzero(chosen > 0)
    per_class = cands["cost"].to_numpy(dtype=float) / classes
    cands = cands.iloc[keep].reset_index(drop=True).assign(classes=chosen[keep])
    cands["places"] = cands["classes"] * float(config["optimize.class_size"])
    cands["cost"] = cands["classes"] * per_class[keep]
    pairs = sparse.coo_array(sparse.csr_array(comply.model.assignment)[: len(flagged)][:, keep])
    ok = pairs.data > 1e-9
    owner, col, weights = pairs.row[ok], pairs.col[ok], pairs.data[ok]
    n = len(owner)
    cover = sparse.csr_array((np.ones(n, dtype=bool), (np.arange(n), col)), shape=(n, len(cands)))
    model = PhasedCover(cover if n else np.zeros((1, len(cands)), bool), weights if n else np.zeros(1),
                        cands["places"].to_numpy(dtype=float), cands["cost"].to_numpy(dtype=float),
                        cands["classes"].to_numpy(dtype=float),
                        late[owner] if n else np.zeros((1, len(cal) + 1)), cal["budget"].to_numpy(),
                        cal["classes"].to_numpy(dtype=float), priority[owner] if n else None)
    model.owner = owner
    return keep, cands, model


def _finish(res, model, cal, flagged, cands, config, towns=None) -> PhasedPlan:
    """Back from model rows to flagged compounds, then the tables."""
    if res["status"] != "optimal":
        log.warning("phased plan: %s (%s)", res["status"], res["reason"])
    owner = res.get("owner", getattr(model, "owner", None))
    n = len(owner)
    to_compound = sparse.csr_array((np.ones(n), (owner, np.arange(n))), shape=(len(flagged), max(n, 1)))
    res["served"] = to_compound @ res["served"][:max(n, 1)] if n else np.zeros((len(flagged), len(cal)))
    res["assignment"] = [sparse.csr_array(to_compound @ z[:max(n, 1)]) if n else z[:0] for z in res["assignment"]]
    return _describe(res, model, cal, flagged, cands, flagged["unmet"].to_numpy(dtype=float), config, towns)


def _describe(res, model, cal, flagged, cands, weights, config: Config, towns=None) -> PhasedPlan:
    y = res["modules"]
    served = res["served"][: len(flagged)]
    T = len(cal)
    size = float(config["optimize.class_size"])
    sub = float(config["policy.start_up_subsidy_per_class"])
    per_class = model.module_cost
    full = served >= weights[:, None] - 1e-6 * np.maximum(1.0, weights[:, None])
    done = np.where(full.any(axis=1), full.argmax(axis=1), -1)  # phase index when served in full
    due = np.array([_deadline_of(r, cal["start"].iloc[0]) for r in flagged.itertuples()], dtype=object)
    rows = []
    prev = np.zeros(len(y), dtype=np.int64)
    for s in range(T):
        built = y[:, s] - prev
        prev = y[:, s]
        opened = np.flatnonzero(built > 0)
        remedied = np.flatnonzero(done == s)
        end = cal["end"].iloc[s]
        late_now = np.flatnonzero(~full[:, s] & np.array([d <= end for d in due], dtype=bool)) if len(flagged) else []
        names = [f"{cands['id'].iloc[j]} {cands['name'].iloc[j]}（{int(built[j])} 班）" for j in opened]
        rows.append({"phase": s + 1, "kind": cal["kind"].iloc[s], "start": cal["start"].iloc[s], "phase_end": end,
                     "budget": float(cal["budget"].iloc[s]), "class_limit": int(cal["classes"].iloc[s]),
                     "sites_opened": len(opened), "site_list": "；".join(names),
                     "classes": int(built.sum()), "places": float(built.sum() * size),
                     "cost": float(per_class @ built), "net_cost": float(per_class @ built - sub * built.sum()),
                     "compounds_remedied": len(remedied),
                     "remedied_list": "；".join(f"{flagged['name'].iloc[i]}（{due[i]}）" for i in remedied),
                     "compounds_late": len(late_now),
                     "places_late": float((weights[late_now] - served[late_now, s]).sum()) if len(late_now) else 0.0,
                     **_targets_at(towns, cands, prev, size, float(config["policy.places_per_1000"]))})
    table = pd.DataFrame(rows)
    # each compound: the phase it is served in full and the site serving most of it then
    comp = []
    for i, r in enumerate(flagged.itertuples()):
        s = int(done[i])
        site_id = site_name = None
        if s >= 0:
            z = res["assignment"][s]
            row = sparse_row(z, i)
            if len(row[0]):
                j = int(row[0][np.argmax(row[1])])
                site_id, site_name = cands["id"].iloc[j], cands["name"].iloc[j]
        comp.append({"id": r.id, "phase": s + 1 if s >= 0 else pd.NA,
                     "phase_end": cal["end"].iloc[s] if s >= 0 else None, "phase_site_id": site_id,
                     "phase_site_name": site_name, "phase_late": bool(s < 0 or cal["end"].iloc[s] > due[i])})
    compounds = pd.DataFrame(comp, columns=["id", "phase", "phase_end", "phase_site_id", "phase_site_name", "phase_late"])
    compounds["phase"] = pd.array(compounds["phase"], dtype="Int64")
    stages = res["stages"]
    summary = {"status": res["status"], "gap": res["gap"], "reason": res["reason"], "solve_time": res["solve_time"],
               "phases": T, "late_place_days": res["late_days"], "cost": res["cost"],
               "unserved_at_end": int((~full[:, -1]).sum()) if len(flagged) else 0,
               "first_phase_sites": int(table["sites_opened"].iloc[0]) if len(table) else 0,
               "stages": stages}
    return PhasedPlan(table, compounds, summary, cal)


def _targets_at(towns, cands, classes_open, size: float, target: float) -> dict:
    """Places per 1,000 in the district and the townships still below ``target`` with ``classes_open``."""
    if towns is None or not len(towns):
        return {"district_per_1000": float("nan"), "townships_below_target": 0, "townships_below_list": ""}
    added = pd.Series(classes_open * size, index=cands.index).groupby(cands["township"].fillna("")).sum()
    places = towns["places_inside"].to_numpy(dtype=float) + towns["township"].map(added).fillna(0.0).to_numpy()
    pop = towns["population"].to_numpy(dtype=float)
    per = np.divide(places * 1000, pop, out=np.full(len(pop), np.nan), where=pop > 0)
    below = [f"{t}（{v:.2f}）" for t, v in zip(towns["township"], per) if v < target - 1e-9]
    return {"district_per_1000": float(places.sum() * 1000 / pop.sum()) if pop.sum() > 0 else float("nan"),
            "townships_below_target": len(below), "townships_below_list": "；".join(below)}


def sparse_row(z, i):
    from scipy import sparse

    z = sparse.csr_array(z)
    lo, hi = z.indptr[i], z.indptr[i + 1]
    keep = z.data[lo:hi] > 1e-6
    return z.indices[lo:hi][keep], z.data[lo:hi][keep]


def write_phases(plan: PhasedPlan, out_dir, lang: str = "zh") -> dict:
    """``phases.csv``: one row per phase."""
    from pathlib import Path

    from .tables import localise, write_csv

    return {"phases_csv": write_csv(localise(plan.table, lang), Path(out_dir) / "phases.csv")}
