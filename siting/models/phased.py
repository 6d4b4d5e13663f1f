"""Phased siting: which site opens how many classes in which phase, to cut the demand-days past deadline.

A multi-period capacitated cover with modular capacity. Phases t = 0..T-1 each have a budget and a
limit on the classes that can be built. ``y_jt`` is the classes open at site j by the end of phase t
(whole, non-decreasing in t, at most ``K_j``); a class opened in phase t serves from the end of phase
t. ``z_ijt`` is demand i served by site j at the end of phase t (within reach and the open classes).

Served demand counts against lateness in the next phase: ``late[i, t + 1]`` is how many (weighted)
days of phase t + 1 fall after demand point i's deadline, and ``late[i, T]`` the days counted for
what is still unserved after the last phase. The objectives are lexicographic, each a separate
HiGHS solve with the previous optimum held as a constraint:

1. maximise the late demand-days avoided, ``sum z_ijt late[i, t + 1]`` (= minimise demand-days late);
2. minimise the cost of the classes opened by the end, less a tie-break ``sum z_ijt priority_i`` (earlier
   deadlines first among equally late, equally dear plans) scaled to be worth less in all than a tenth
   of the cheapest class.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from siting.models._base import _err, _vector, check_solve_args, solve_highs, status_reason
from siting.models.compliance import Modular

__all__ = ["PhasedCover"]

_TOL = 1e-6
_FLOW_TOL = 1e-4  # HiGHS meets rows to its feasibility tolerance after scaling: 2e-5 of a 20-place class seen


def cm_min(costs: np.ndarray) -> float:
    positive = costs[costs > 0]
    return float(positive.min()) if len(positive) else 1.0


class PhasedCover(Modular):
    """Multi-period siting under per-phase budgets and class-building limits.

    Parameters
    ----------
    cover : bool matrix, shape (n, m)
        Site j is within demand point i's reach.
    weights : array, shape (n,)
        Demand (places) of each point.
    capacities, costs : array, shape (m,)
        Places and cost of each site with all its modules (classes) open.
    modules : array of int, shape (m,)
    late : array, shape (n, T + 1)
        Weighted days past deadline of each demand point in each phase, the last column for what is
        still unserved after the last phase (see the module docstring).
    budgets, class_limits : array, shape (T,)
        Most that may be spent, and most classes that may be opened, in each phase.
    priority : array, shape (n,), optional
        Tie-break: higher is served first among equally late and equally dear plans.
    """

    name = "phased"

    def __init__(self, cover, weights, capacities, costs, modules, late, budgets, class_limits, priority=None):
        n, m = self._set_sites(cover, weights, capacities, costs, modules)
        self.budgets = np.asarray(budgets, dtype=float).ravel()
        self.class_limits = np.asarray(class_limits, dtype=float).ravel()
        T = len(self.budgets)
        if T == 0 or len(self.class_limits) != T:
            raise _err(f"budgets and class_limits need one value per phase (got {T} and {len(self.class_limits)}).",
                       f"每个阶段须各有一个预算和建班上限（实际分别为 {T} 和 {len(self.class_limits)} 个）。")
        if (self.budgets < 0).any() or (self.class_limits < 0).any() or not np.isfinite(self.class_limits).all():
            raise _err("phase budgets and class limits must be >= 0 (budgets may be inf).", "阶段预算与建班上限必须 >= 0。")
        self.late = np.asarray(late, dtype=float)
        if self.late.shape != (n, T + 1) or not np.isfinite(self.late).all() or (self.late < 0).any():
            raise _err(f"late must be a finite, non-negative (n, T + 1) = ({n}, {T + 1}) array, got {self.late.shape}.",
                       f"late 必须是 ({n}, {T + 1}) 的非负有限数组，实际为 {self.late.shape}。")
        self.priority = np.zeros(n) if priority is None else _vector(priority, n, "priority", "优先级", "demand point")
        self.T = T

    # ------------------------------------------------------------------ model
    def _structure(self):
        """Sites that reach some demand, the pairs, and the constraint matrix shared by every stage."""
        n, m = self.cover.shape
        T = self.T
        rows_ok = self.weights > 0
        cols = np.flatnonzero((np.asarray(self.cover[rows_ok].sum(axis=0)).ravel() > 0) & (self.capacities > 0))
        sub = sp.coo_array(sp.csr_array(self.cover[:, cols]).multiply(rows_ok[:, None]))
        pi, pj = sub.row, sub.col  # pairs: demand row, local site
        k, t = len(cols), len(pi)
        q, cm, K = self.module_size[cols], self.module_cost[cols], self.modules[cols].astype(float)
        # Columns: y[j, s] at s * k + j, then z[p, s] at T * k + s * t + p.
        ycol = lambda s: s * k + np.arange(k)  # noqa: E731
        zcol = lambda s: T * k + s * t + np.arange(t)  # noqa: E731
        r, c, v, lo, hi = [], [], [], [], []
        nr = 0

        def add(rr, cc, vv, low, high):
            nonlocal nr
            r.append(nr + rr), c.append(cc), v.append(vv)
            lo.append(low), hi.append(high)
            nr += len(low)

        for s in range(T):
            add(pi, zcol(s), np.ones(t), np.zeros(n), self.weights)  # served ≤ demand
            add(np.concatenate([pj, np.arange(k)]), np.concatenate([zcol(s), ycol(s)]),
                np.concatenate([np.ones(t), -q]), np.full(k, -np.inf), np.zeros(k))  # capacity
            new = [ycol(s)] + ([ycol(s - 1)] if s else [])
            sign = [np.ones(k)] + ([-np.ones(k)] if s else [])
            add(np.zeros(k * len(new), dtype=int), np.concatenate(new), np.concatenate([cm * x for x in sign]),
                [-np.inf], [self.budgets[s]])  # budget
            add(np.zeros(k * len(new), dtype=int), np.concatenate(new), np.concatenate(sign),
                [-np.inf], [self.class_limits[s]])  # classes built
            if s:
                add(np.arange(k), ycol(s), np.ones(k), np.zeros(k), np.full(k, np.inf))  # non-decreasing
                r[-1] = np.concatenate([r[-1], r[-1]])
                c[-1] = np.concatenate([c[-1], ycol(s - 1)])
                v[-1] = np.concatenate([v[-1], -np.ones(k)])
        a = sp.csc_array((np.concatenate(v), (np.concatenate(r), np.concatenate(c))), shape=(nr, T * (k + t)))
        col_lo = np.zeros(T * (k + t))
        col_hi = np.concatenate([np.tile(K, T), np.tile(np.minimum(self.weights[pi], q[pj] * K[pj]), T)])
        integer = np.concatenate([np.ones(T * k, dtype=bool), np.zeros(T * t, dtype=bool)])
        objectives = {
            "late": np.concatenate([np.zeros(T * k)] + [self.late[pi, s + 1] for s in range(T)]),
            "cost": np.concatenate([np.zeros((T - 1) * k), cm, np.zeros(T * t)]),
            "priority": np.concatenate([np.zeros(T * k)] + [self.priority[pi] for _ in range(T)]),
        }
        return cols, pi, pj, a, np.concatenate([np.asarray(x, float) for x in lo]), \
            np.concatenate([np.asarray(x, float) for x in hi]), col_lo, col_hi, integer, objectives

    def _start(self, start, cols, a, rlo, rhi, clo, chi, late_obj):
        """A full MIP start from ``start`` classes (m × T): the service they allow at best, or None if they break a rule."""
        y0 = np.asarray(start, dtype=float)
        T = self.T
        if y0.shape != (self.cover.shape[1], T) or self.check(y0, [sp.csr_array(self.cover.shape)] * T):
            return None
        k = len(cols)
        lo, hi = clo.copy(), chi.copy()
        lo[: T * k] = hi[: T * k] = y0[cols].T.ravel()  # the classes are fixed; only the service is free
        out = solve_highs(late_obj, a, rlo, rhi, lo, hi, None, maximize=True)
        return out.x

    # ------------------------------------------------------------------ checks
    def late_days(self, served) -> float:
        """Weighted demand-days past deadline of a plan, from ``served`` (n × T, served at each phase's end)."""
        unserved = self.weights[:, None] - np.hstack([np.zeros((len(self.weights), 1)), np.asarray(served, float)])
        return float((np.clip(unserved, 0, None) * self.late).sum())

    def check(self, modules, assignment) -> list[str]:
        """Every rule a phased plan breaks: ``modules`` (m × T classes open by each phase's end) and
        ``assignment`` (a list of T sparse n × m matrices of places served)."""
        problems = []
        y = np.asarray(modules, dtype=float)
        if np.any(np.abs(y - np.round(y)) > _TOL) or (y < -_TOL).any() or (y > self.modules[:, None] + _TOL).any():
            problems.append("classes are not whole numbers within 0..modules")
        built = np.diff(np.hstack([np.zeros((len(y), 1)), y]), axis=1)
        if (built < -_TOL).any():
            problems.append("classes close between phases")
        spent = self.module_cost @ built
        if (spent > self.budgets * (1 + 1e-9) + _TOL).any():
            problems.append(f"phase {int(np.argmax(spent - self.budgets)) + 1} spends more than its budget")
        if (built.sum(axis=0) > self.class_limits + _TOL).any():
            problems.append("a phase builds more classes than it may")
        for s, z in enumerate(assignment):
            z = sp.coo_array(z)
            if z.nnz and (z.data < -_TOL).any():
                problems.append(f"phase {s + 1}: a negative flow")
            if z.nnz and not np.asarray(self.cover[z.row, z.col]).ravel()[z.data > _TOL].all():
                problems.append(f"phase {s + 1}: service out of reach")
            load = np.bincount(z.col, weights=z.data, minlength=self.cover.shape[1])
            if (load > self.module_size * y[:, s] + _FLOW_TOL * np.maximum(1, load)).any():
                problems.append(f"phase {s + 1}: a site serves more than its open classes hold")
            served = np.bincount(z.row, weights=z.data, minlength=self.cover.shape[0])
            if (served > self.weights + _FLOW_TOL * np.maximum(1, self.weights)).any():
                problems.append(f"phase {s + 1}: a demand point is served more than its demand")
        return problems

    # ------------------------------------------------------------------ solve
    def solve(self, time_limit: float | None = None, mip_gap: float = 0.0, options: dict | None = None,
              start=None) -> dict:
        """Solve the stages with HiGHS and verify the plan.

        ``start`` (optional, m × T classes open by each phase's end, e.g. a schedule of the
        full-compliance plan) is a plan to improve on: when it keeps every rule, the best service
        it allows (an LP) is handed to HiGHS as the lateness stage's MIP start, so the answer is
        never later than the start.

        Returns a dict: ``modules`` (m × T classes open by the end of each phase), ``assignment`` (T
        sparse n × m matrices of places served), ``served`` (n × T), ``late_days`` (weighted demand-days
        past deadline, recomputed), ``cost``, ``status`` (``"optimal"`` only when every stage was proven
        optimal and the plan passes :meth:`check`), ``gap`` (largest stage gap), ``reason``, ``stages``
        (per-stage outcomes) and ``solve_time``. ``time_limit`` applies to each stage.
        """
        time_limit, mip_gap = check_solve_args(time_limit, mip_gap)
        t0 = time.perf_counter()
        n, m = self.cover.shape
        T = self.T
        cols, pi, pj, a, rlo, rhi, clo, chi, integer, obj = self._structure()
        k, t = len(cols), len(pi)
        empty = {"modules": np.zeros((m, T), dtype=np.int64), "assignment": [sp.csr_array((n, m)) for _ in range(T)],
                 "served": np.zeros((n, T)), "cost": 0.0, "status": "optimal", "gap": 0.0, "reason": "", "stages": [],
                 "solve_time": 0.0}
        if k == 0 or t == 0:
            empty["late_days"] = self.late_days(empty["served"])
            return empty
        stages, x, held = [], None, []
        x_start = self._start(start, cols, a, rlo, rhi, clo, chi, obj["late"]) if start is not None else None
        # Stage 2 minimises cost with the priority as a tie-break worth less, in all, than a tenth of the
        # cheapest class, so it never buys a dearer plan.
        total_priority = float((self.weights * self.priority).sum()) * T
        if total_priority > 0:
            obj["cost"] = obj["cost"] - obj["priority"] * (0.1 * float(cm_min(self.module_cost[cols])) / total_priority)
        for name, maximize in (("late", True), ("cost", False)):
            rows_a, lo_, hi_ = a, rlo, rhi
            if held:
                extra = sp.csc_array(np.vstack([obj[h] for h, _, _ in held]))
                rows_a = sp.vstack([a, extra]).tocsc()
                lo_ = np.concatenate([rlo, [low for _, low, _ in held]])
                hi_ = np.concatenate([rhi, [high for _, _, high in held]])
            # The cost stage starts from the lateness stage's plan (it keeps every rule), so it always has
            # one. With a start (so presolve off) HiGHS 1.16 took slightly fractional classes as whole at its
            # MIP feasibility tolerance and proved "optimal" a plan whose earliest-deadline tie-break was
            # 5e-5 worse (3 of 30 deadline-order cases); at 1e-9 all 30 were right, the remedy HiGHS's
            # maintainers give for the same effect (ERGO-Code/HiGHS#1510).
            opts = options if not held else {"mip_feasibility_tolerance": 1e-9, **(options or {})}
            out = solve_highs(obj[name], rows_a, lo_, hi_, clo, chi, integer, maximize=maximize,
                              time_limit=time_limit, mip_gap=mip_gap, options=opts, start=x if held else x_start)
            stages.append({"stage": name, "status": out.status, "objective": out.objective, "bound": out.bound,
                           "gap": out.gap, "seconds": out.seconds})
            if out.x is None:
                break
            x = out.x
            value = float(obj[name] @ x)
            slack = 1e-9 * max(1.0, abs(value)) + 1e-7
            held.append((name, value - slack, np.inf) if maximize else (name, -np.inf, value + slack))
        if x is None:
            status = "infeasible" if stages and stages[0]["status"] == "infeasible" else "time_limit"
            return {**empty, "status": status, "gap": float("inf"), "stages": stages, "late_days": float("nan"),
                    "reason": status_reason(stages[0]["status"], time_limit) if stages else "",
                    "solve_time": time.perf_counter() - t0}
        y = np.zeros((m, T), dtype=np.int64)
        y[cols] = np.round(x[: T * k].reshape(T, k).T).astype(np.int64)
        z = np.maximum(x[T * k:].reshape(T, t), 0.0)
        assignment = [sp.csr_array((z[s], (pi, cols[pj])), shape=(n, m)) for s in range(T)]
        served = np.column_stack([np.asarray(zz.sum(axis=1)).ravel() for zz in assignment])
        cost = float(self.module_cost @ y[:, -1])
        priority_served = float((served * self.priority[:, None]).sum())
        problems = self.check(y, assignment)
        late_obj = [s_ for s_ in stages if s_["stage"] == "late"][0]
        avoided = float(obj["late"] @ x)
        if abs(avoided + self.late_days(served) - float((self.weights[:, None] * self.late).sum())) > 1e-6 * max(1.0, avoided):
            problems.append("late demand-days do not add up")
        if np.isfinite(late_obj["bound"]) and late_obj["bound"] < late_obj["objective"] - 1e-6 * max(1, abs(late_obj["objective"])):
            problems.append("the solver's bound on late days avoided is below its answer")
        statuses = {s_["status"] for s_ in stages}
        status = "optimal" if statuses == {"optimal"} else ("time_limit" if "time_limit" in statuses or "no_solution" in statuses
                                                            else sorted(statuses - {"optimal"})[0])
        reason = "; ".join(f"the {s_['stage']} stage stopped at the time limit ({time_limit:g} s), {s_['gap']:.2%} from "
                           "its proven bound" for s_ in stages if s_["status"] == "time_limit" and time_limit is not None)
        if len(stages) < 2 or stages[-1]["status"] in ("no_solution", "infeasible"):
            status = "time_limit"
            reason = ("the cost stage found no solution within the time limit: the plan is the lateness stage's, "
                      f"{stages[0]['gap']:.2%} from its proven bound, its cost not minimised")
        if problems:
            status, reason = "unverified", "; ".join(problems)
        return {"modules": y, "assignment": assignment, "served": served, "late_days": self.late_days(served), "cost": cost,
                "status": status, "gap": max(s_["gap"] for s_ in stages), "reason": reason, "stages": stages,
                "priority_served": priority_served,
                "solve_time": time.perf_counter() - t0}
