"""Shared pieces of the location models: the result type, input checks and the HiGHS driver.

Inputs are checked once, at the boundary, so that the model code can assume clean arrays.
Every message is given in English and Chinese (``ModelError(en, zh)``).
"""

from __future__ import annotations

import difflib
import numbers
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from siting.errors import ModelError

__all__ = ["LocationResult"]


@dataclass(frozen=True, eq=False)
class LocationResult:
    """What a location model returns: plain data, nothing printed.

    Attributes
    ----------
    selected : np.ndarray
        Sorted column indices of all open facilities, existing ones included.
    objective : float
        Covered weight (MCLP), served weight (capacitated MCLP), number of open
        facilities, existing included (LSCP), total weighted cost (p-median) or
        largest demand-to-facility cost (p-center). ``nan`` when infeasible.
    status : str
        ``"optimal"`` (proven, gap 0), ``"time_limit"`` (stopped by the time limit,
        ``gap`` holds the proven relative gap), ``"gap_limit"`` (stopped at the
        requested ``mip_gap``), ``"heuristic"`` (no proof; ``gap`` is measured
        against the LP relaxation bound), ``"feasible"`` (a checked solution whose
        optimality the solver claimed but could not back with its bound; see ``reason``)
        or ``"infeasible"`` (see ``reason``). Every status is checked against the
        objective recomputed from ``selected`` (see :func:`certify`).
    gap : float
        Relative gap between ``objective`` and the best proven bound; 0.0 when optimal,
        ``inf`` when no solution was found or no valid bound is known.
    reason : str
        Why the model is infeasible or stopped without a solution; empty otherwise.
    method : str
        ``"highs-mip"``, ``"bisection"``, ``"greedy+interchange"``, ...
    solve_time : float
        Wall-clock seconds spent in ``solve``.
    assignment : np.ndarray or scipy.sparse.csr_array or None
        Single-source models: per demand point the assigned column index, or -1.
        Split models: a sparse (demand × facility) matrix of served amounts.
    covered : np.ndarray or None
        Coverage models: whether each demand point is within reach of an open facility.
    served : np.ndarray or None
        Capacitated models: amount of each demand point's weight that is served.
    new : np.ndarray
        The opened facilities that were not already open (``selected`` minus ``existing``).
    uncoverable : np.ndarray
        Demand points (row indices) that no candidate or existing site can serve: for
        coverage models, none within the service distance; otherwise, none reachable.
    bound : float
        Best proven bound on the objective (LP bound for heuristics); ``nan`` if unknown.
    modules : np.ndarray or None
        Models with modular capacity (e.g. childcare classes): modules opened per column
        (0 where closed, all of them at existing sites).
    """

    selected: np.ndarray
    objective: float
    status: str
    gap: float = 0.0
    reason: str = ""
    method: str = "highs-mip"
    solve_time: float = 0.0
    assignment: np.ndarray | sp.sparray | None = None
    covered: np.ndarray | None = None
    served: np.ndarray | None = None
    uncoverable: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    bound: float = float("nan")
    new: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    modules: np.ndarray | None = None

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


# ----------------------------------------------------------------------------- validation


def _err(en: str, zh: str) -> ModelError:
    return ModelError(en, zh)


class CostMatrix:
    """A validated cost matrix as CSR of reachable entries (explicit zeros kept).

    Dense input: every finite entry is reachable, ``np.inf`` is not. Sparse input:
    every stored entry is reachable (a stored 0 costs 0) unless it is ``inf``.
    """

    def __init__(self, cost):
        self._dense = None
        self._csr = None
        if sp.issparse(cost):
            if cost.ndim != 2:
                raise _err("cost must be a 2-D matrix (demand points × candidate sites).",
                           "cost 必须是二维矩阵（需求点 × 候选点）。")
            # COO → CSR sums duplicates; a matrix given as CSR keeps its stored zeros.
            csr = sp.csr_array(cost, dtype=np.float64, copy=True)
            csr.sum_duplicates()
            csr.sort_indices()
            _check_values(csr.data)
            finite = np.isfinite(csr.data)
            self._csr = csr if finite.all() else _mask_csr(csr, finite)
            shape = csr.shape
        else:
            arr = np.asarray(cost, dtype=np.float64)
            if arr.ndim != 2:
                raise _err(f"cost must be a 2-D matrix (demand points × candidate sites), got {arr.ndim} dimension(s).",
                           f"cost 必须是二维矩阵（需求点 × 候选点），实际为 {arr.ndim} 维。")
            _check_values(arr)
            # Kept dense: coverage models only need the entries within the service distance,
            # and extracting those directly is far cheaper than a CSR of the whole matrix.
            self._dense = arr
            shape = arr.shape
        n, m = shape
        if n == 0 or m == 0:
            raise _err(f"cost has shape {n} × {m}: a model needs at least one demand point and one candidate site.",
                       f"cost 的形状为 {n} × {m}：至少需要一个需求点和一个候选点。")
        self.shape = (n, m)

    @property
    def csr(self) -> sp.csr_array:
        """All reachable entries as CSR (built on first use for dense input)."""
        if self._csr is None:
            self._csr = _dense_to_csr(self._dense, np.isfinite(self._dense))
        return self._csr

    @property
    def n(self) -> int:
        return self.shape[0]

    @property
    def m(self) -> int:
        return self.shape[1]

    def within(self, distance: float) -> sp.csr_array:
        """Boolean CSR: demand i is covered by column j (cost <= distance, inclusive)."""
        if self._csr is None:
            mask = self._dense <= distance
            if not np.isfinite(distance):  # inf <= inf: unreachable must stay uncovered
                mask &= np.isfinite(self._dense)
            return sp.csr_array(_dense_to_csr(mask, mask), dtype=bool)
        return _mask_csr(self._csr, self._csr.data <= distance, boolean=True)


def _dense_to_csr(values: np.ndarray, mask: np.ndarray) -> sp.csr_array:
    rows, cols = np.nonzero(mask)
    indptr = np.zeros(values.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=values.shape[0]), out=indptr[1:])
    out = sp.csr_array((values[rows, cols], cols, indptr), shape=values.shape)
    out.has_sorted_indices = True
    return out


def _mask_csr(csr: sp.csr_array, keep: np.ndarray, boolean: bool = False) -> sp.csr_array:
    """The entries of ``csr`` where ``keep`` is true, as a new CSR (zeros stay stored)."""
    row_of = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    indptr = np.zeros(csr.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of[keep], minlength=csr.shape[0]), out=indptr[1:])
    data = np.ones(int(keep.sum()), dtype=bool) if boolean else csr.data[keep]
    out = sp.csr_array((data, csr.indices[keep], indptr), shape=csr.shape)
    out.has_sorted_indices = True
    return out


def _check_values(values: np.ndarray) -> None:
    nan = np.isnan(values)
    if nan.any():
        raise _err(f"cost contains {int(nan.sum())} NaN value(s); use np.inf (or leave the sparse entry out) for unreachable pairs.",
                   f"cost 含有 {int(nan.sum())} 个 NaN；不可达的组合请用 np.inf（稀疏矩阵则不存储该项）。")
    if (values < 0).any():
        raise _err(f"cost contains {int((values < 0).sum())} negative value(s); costs are distances or times and must be >= 0.",
                   f"cost 含有 {int((values < 0).sum())} 个负值；成本是距离或时间，必须 >= 0。")


def _vector(values, n: int, name: str, zh: str, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise _err(f"{name} must have one value per {what} ({n}), got shape {arr.shape}.",
                   f"{zh}的长度必须等于{'需求点' if what == 'demand point' else '候选点'}数（{n}），实际形状为 {arr.shape}。")
    if not np.isfinite(arr).all():
        raise _err(f"{name} contains NaN or infinite values.", f"{zh}含有 NaN 或无穷值。")
    if (arr < 0).any():
        bad = int(np.flatnonzero(arr < 0)[0])
        raise _err(f"{name} must be >= 0; {name}[{bad}] = {arr[bad]:g}.",
                   f"{zh}必须 >= 0；第 {bad} 个为 {arr[bad]:g}。")
    return arr


def check_weights(weights, n: int) -> np.ndarray:
    return _vector(weights, n, "weights", "需求权重", "demand point")


def check_capacities(capacities, m: int) -> np.ndarray:
    return _vector(capacities, m, "capacities", "设施容量", "candidate site")


def check_distance(distance) -> float:
    try:
        d = float(distance)
    except (TypeError, ValueError):
        raise _err(f"service_distance must be a number, got {distance!r}.",
                   f"服务半径必须是数值，实际为 {distance!r}。") from None
    if np.isnan(d) or d < 0:
        raise _err(f"service_distance must be >= 0, got {d:g}.", f"服务半径必须 >= 0，实际为 {d:g}。")
    return d


def check_existing(existing, m: int) -> np.ndarray:
    if existing is None:
        return np.zeros(0, dtype=np.int64)
    arr = np.asarray(existing)
    if arr.dtype == bool:
        if arr.shape != (m,):
            raise _err(f"a boolean existing mask needs one value per candidate site ({m}), got shape {arr.shape}.",
                       f"布尔型 existing 掩码的长度必须等于候选点数（{m}），实际形状为 {arr.shape}。")
        return np.flatnonzero(arr)
    arr = arr.ravel()
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise _err("existing must hold integer column indices.", "existing 必须是整数列下标。")
        arr = arr.astype(np.int64)
    arr = arr.astype(np.int64)
    bad = arr[(arr < 0) | (arr >= m)]
    if bad.size:
        raise _err(f"existing index {int(bad[0])} is out of range: the cost matrix has {m} columns (0..{m - 1}).",
                   f"existing 下标 {int(bad[0])} 越界：成本矩阵只有 {m} 列（0..{m - 1}）。")
    return np.unique(arr)


def check_p(p, m: int, n_existing: int) -> int:
    if isinstance(p, bool) or not isinstance(p, numbers.Integral):
        if isinstance(p, float) and p.is_integer():
            p = int(p)
        else:
            raise _err(f"p must be a whole number of facilities, got {p!r}.", f"p 必须是整数（设施个数），实际为 {p!r}。")
    p = int(p)
    if p < 0:
        raise _err(f"p must be >= 0, got {p}.", f"p 必须 >= 0，实际为 {p}。")
    free = m - n_existing
    if p > free:
        raise _err(f"p = {p} is larger than the {free} candidate sites available "
                   f"({m} columns, {n_existing} already open).",
                   f"p = {p} 超过可选候选点数 {free}（共 {m} 列，其中 {n_existing} 个已开放）。")
    return p


def check_solve_args(time_limit, mip_gap) -> tuple[float | None, float]:
    if time_limit is not None:
        time_limit = float(time_limit)
        if not time_limit > 0:
            raise _err(f"time_limit must be > 0 seconds, got {time_limit:g}.", f"time_limit 必须 > 0 秒，实际为 {time_limit:g}。")
    mip_gap = float(mip_gap)
    if not 0 <= mip_gap < 1:
        raise _err(f"mip_gap must be in [0, 1), got {mip_gap:g}.", f"mip_gap 必须在 [0, 1) 内，实际为 {mip_gap:g}。")
    return time_limit, mip_gap


# ----------------------------------------------------------------------------- reductions


def merge_identical_rows(cover: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """Group rows with identical column sets.

    Returns ``(group_of_row, representative_rows)``; groups are numbered in order of
    their first row, so the result is deterministic.
    """
    indptr, indices = cover.indptr, cover.indices
    keys: dict[bytes, int] = {}
    group_of = np.empty(cover.shape[0], dtype=np.int64)
    reps = []
    for i in range(cover.shape[0]):
        key = indices[indptr[i]:indptr[i + 1]].tobytes()
        g = keys.get(key)
        if g is None:
            g = keys[key] = len(reps)
            reps.append(i)
        group_of[i] = g
    return group_of, np.asarray(reps, dtype=np.int64)


# Above this many pair overlaps the dominance check costs more than it saves.
_DOMINANCE_MAX_WORK = 20_000_000


def undominated_columns(cover: sp.csr_array) -> np.ndarray:
    """Columns whose row set is not contained in another column's (ties keep the lowest index).

    Opening a dominated column never covers more than opening its dominator, so for
    uncapacitated coverage models they can be dropped without losing optimality.
    """
    m = cover.shape[1]
    row_len = np.diff(cover.indptr)
    if int((row_len.astype(np.int64) ** 2).sum()) > _DOMINANCE_MAX_WORK:
        return np.arange(m)
    b = sp.csr_array(cover, dtype=np.int32)
    overlap = (b.T @ b).tocoo()
    size = np.asarray(b.sum(axis=0)).ravel()
    j, k = overlap.row, overlap.col
    contained = (j != k) & (overlap.data == size[j])
    strictly = size[k] > size[j]
    tie_wins = (size[k] == size[j]) & (k < j)
    dominated = np.zeros(m, dtype=bool)
    dominated[j[contained & (strictly | tie_wins)]] = True
    return np.flatnonzero(~dominated)


# ----------------------------------------------------------------------------- HiGHS

_banner_lock = threading.Lock()
_banner_done = False


def new_highs():
    """A quiet, deterministic HiGHS instance.

    HiGHS prints a copyright banner on the first construction in a process, before
    any option can be set; it goes to file descriptor 1, so silence that fd once.
    """
    import highspy

    global _banner_done
    with _banner_lock:
        if not _banner_done:
            _banner_done = True
            try:
                saved = os.dup(1)
                with open(os.devnull, "wb") as devnull:
                    os.dup2(devnull.fileno(), 1)
                try:
                    h = highspy.Highs()
                finally:
                    os.dup2(saved, 1)
                    os.close(saved)
            except OSError:
                h = highspy.Highs()
        else:
            h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    return h


@dataclass
class MipOutcome:
    status: str  # optimal | time_limit | gap_limit | feasible | infeasible | no_solution
    x: np.ndarray | None
    objective: float
    bound: float
    gap: float
    seconds: float
    highs_status: str = ""  # HiGHS's own model status, e.g. "Optimal", "Time limit reached"
    row_dual: np.ndarray | None = None  # an LP's row duals, as HiGHS reports them, when it has them


# A relative difference this small between objective and bound counts as a proof: HiGHS
# declares optimality at an absolute gap of 1e-6 and solves to a feasibility tolerance of 1e-7.
PROOF_TOL = 1e-6


@dataclass
class HighsProblem:
    """One HiGHS solve as plain data: ``opt c·x + offset`` s.t. ``row_lo <= A x <= row_hi``, ``col_lo <= x <= col_hi``.

    Plain arrays so that it can be handed to a child process (:mod:`siting.models._guard`).
    """

    c: np.ndarray
    a: sp.csc_array
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray | None
    maximize: bool = False
    offset: float = 0.0
    mip_gap: float = 0.0
    start: np.ndarray | None = None
    options: dict | None = None

    @property
    def is_mip(self) -> bool:
        return self.integer is not None and bool(np.any(self.integer))


def solve_highs(
    c: np.ndarray,
    a: sp.csc_array,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    integer: np.ndarray | None,
    maximize: bool = False,
    offset: float = 0.0,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    start: np.ndarray | None = None,
    options: dict | None = None,
) -> MipOutcome:
    """Solve ``opt c·x + offset`` s.t. ``row_lo <= A x <= row_hi``, ``col_lo <= x <= col_hi``.

    ``integer`` marks integer columns (``None`` or all false: an LP). The model is
    passed in one call as column-wise arrays: building it row by row from Python is
    what makes PuLP-based tools slow at this size.

    ``start`` (a MIP start) turns presolve off: with presolve on, highspy 1.16 can return
    the start as "optimal" or prove a wrong bound (42 of 400 random set covers). The
    models pass no start. The outcome is HiGHS's claim; the models certify it
    (:func:`certify`) before calling anything optimal. HiGHS failing without a solution
    (not a time limit) raises :class:`ModelError` naming its model status.

    With a ``time_limit`` the solve runs where it can be stopped (:mod:`siting.models._guard`):
    HiGHS does not check its clock in every loop.
    """
    problem = HighsProblem(np.asarray(c, dtype=np.float64), sp.csc_array(a), np.asarray(row_lo, dtype=np.float64),
                           np.asarray(row_hi, dtype=np.float64), np.asarray(col_lo, dtype=np.float64),
                           np.asarray(col_hi, dtype=np.float64), None if integer is None else np.asarray(integer, bool),
                           bool(maximize), float(offset), float(mip_gap),
                           None if start is None else np.asarray(start, dtype=np.float64), options)
    if time_limit is None:
        return solve_problem(problem)
    from siting.models._guard import solve_within

    return solve_within(problem, float(time_limit))


def _set_user_option(h, key: str, value) -> None:
    """Set an option a caller passed; HiGHS only returns an error status, which would go unseen."""
    import highspy

    try:
        if h.setOptionValue(key, value) == highspy.HighsStatus.kOk:
            return
    except TypeError:  # highspy refuses values of no option type at all (None, a list) itself
        pass
    names = sorted(n for n in dir(h.getOptions()) if not n.startswith("_"))
    if key in names:
        kind = str(h.getOptionType(key)[1]).rsplit(".k", 1)[-1].lower()
        en, zh = {"bool": ("true or false", "布尔值"), "int": ("an integer", "整数"), "double": ("a number", "数值"),
                  "string": ("a string", "字符串")}.get(kind, (kind, kind))
        raise _err(f"HiGHS option {key!r} does not accept {value!r}: it takes {en} in its allowed range "
                   "(see https://ergo-code.github.io/HiGHS/stable/options/definitions/).",
                   f"HiGHS 选项 {key!r} 不接受取值 {value!r}：应为允许范围内的{zh}。")
    close = difflib.get_close_matches(key, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    hint_zh = f"是否应为 {close[0]!r}？" if close else ""
    raise _err(f"HiGHS has no option {key!r}.{hint} Remove it from options or use a name from "
               "https://ergo-code.github.io/HiGHS/stable/options/definitions/.",
               f"HiGHS 没有名为 {key!r} 的选项。{hint_zh}请从 options 中删除或改用 HiGHS 的选项名。")


def solve_problem(problem: HighsProblem, time_limit: float | None = None, deadline: float | None = None,
                  report=None) -> MipOutcome:
    """Solve ``problem`` in this process.

    ``deadline`` (``time.monotonic``) is checked by the interrupt callbacks; ``report(kind, value)``
    receives each improving solution (``"solution"``, ``(objective, x)``) and each new dual bound
    (``"bound"``, float) as HiGHS finds them.
    """
    import highspy

    t0 = time.perf_counter()
    a = problem.a.copy()
    a.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_ = int(a.shape[1])
    lp.num_row_ = int(a.shape[0])
    lp.col_cost_ = problem.c
    lp.col_lower_ = problem.col_lo
    lp.col_upper_ = problem.col_hi
    lp.row_lower_ = problem.row_lo
    lp.row_upper_ = problem.row_hi
    lp.offset_ = problem.offset
    lp.sense_ = highspy.ObjSense.kMaximize if problem.maximize else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = lp.num_col_
    lp.a_matrix_.num_row_ = lp.num_row_
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(np.float64)
    is_mip = problem.is_mip
    if is_mip:
        lp.integrality_ = [highspy.HighsVarType.kInteger if f else highspy.HighsVarType.kContinuous
                           for f in problem.integer]

    h = new_highs()
    h.setOptionValue("mip_rel_gap", problem.mip_gap)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if deadline is not None:
        _interrupt_at(h, deadline)
    if report is not None:
        _report_progress(h, report)
    has_start = problem.start is not None and is_mip
    if has_start:
        h.setOptionValue("presolve", "off")
    for key, value in (problem.options or {}).items():
        _set_user_option(h, key, value)
    h.passModel(lp)
    if has_start:
        sol = highspy.HighsSolution()
        sol.col_value = problem.start.tolist()
        sol.value_valid = True
        h.setSolution(sol)
    _run(h)
    ms = h.getModelStatus()
    info = h.getInfo()
    seconds = time.perf_counter() - t0
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value) if has_solution else None
    # The objective is the returned solution's, recomputed; HiGHS's own figure is only its bound
    # for an LP. A solution that disagrees with what HiGHS proved then shows as a gap below.
    objective = objective_of(problem, x) if has_solution else float("nan")
    if is_mip:
        bound = float(info.mip_dual_bound)
    else:
        bound = float(info.objective_function_value) if has_solution else float("nan")
    S = highspy.HighsModelStatus
    name = h.modelStatusToString(ms)
    if ms == S.kOptimal and has_solution:
        gap = _rel_gap(objective, bound)
        # HiGHS says Optimal once the requested gap is reached; only a gap within the
        # proof tolerance is a proof, and a larger one than asked for is a contradiction.
        if gap <= PROOF_TOL:
            status, gap = "optimal", 0.0
        elif gap <= problem.mip_gap + PROOF_TOL:
            status = "gap_limit"
        else:
            status = "feasible"
    elif ms in (S.kInfeasible, S.kUnboundedOrInfeasible):
        status, gap = "infeasible", float("inf")
    elif ms == S.kModelEmpty:  # no columns: every row must hold at 0
        ok = bool(np.all(problem.row_lo <= 0) and np.all(problem.row_hi >= 0))
        x = np.zeros(lp.num_col_) if ok else None
        objective = bound = problem.offset if ok else float("nan")
        status, gap = ("optimal", 0.0) if ok else ("infeasible", float("inf"))
    elif ms in (S.kTimeLimit, S.kInterrupt, S.kIterationLimit, S.kSolutionLimit, S.kObjectiveBound,
                S.kObjectiveTarget):
        status = "time_limit" if has_solution else "no_solution"
        gap = _rel_gap(objective, bound) if has_solution else float("inf")
    else:
        raise _err(f"HiGHS stopped without a usable answer (model status: {name}).",
                   f"HiGHS 求解失败，未给出可用结果（模型状态：{name}）。")
    row_dual = None
    if not is_mip and info.dual_solution_status == 2 and lp.num_row_:
        row_dual = np.asarray(h.getSolution().row_dual, dtype=np.float64)
    return MipOutcome(status, x, objective, bound, gap, seconds, name, row_dual)


def objective_of(problem: HighsProblem, x: np.ndarray) -> float:
    """``c @ x + offset``: the objective of ``x`` as the model states it, not as a solver reports it."""
    return float(problem.c @ np.asarray(x, dtype=np.float64)) + problem.offset


def _interrupt_at(h, deadline: float) -> None:
    """Stop HiGHS at ``deadline`` (``time.monotonic``) wherever it checks for interrupts.

    HiGHS's own ``time_limit`` is not checked inside a root cut round with the interior-point
    LP solver: a 30 s limit ran 111-120 s on a 20,000 × 3,000 MCLP. The interrupt callbacks of
    the MIP, IPM and simplex loops are, and an interrupted run keeps its best solution and bound.
    """
    def stop(event):
        if time.monotonic() >= deadline:
            event.interrupt()

    h.cbMipInterrupt += stop
    h.cbIpmInterrupt += stop
    h.cbSimplexInterrupt += stop


def _report_progress(h, report) -> None:
    """Pass each improving solution and each new dual bound to ``report`` as HiGHS finds them."""
    last = [None]

    def solution(event):
        out = event.data_out
        report("solution", (float(out.objective_function_value), np.array(out.mip_solution, dtype=np.float64)))

    def bound(event):
        value = float(event.data_out.mip_dual_bound)
        if value != last[0] and np.isfinite(value):
            last[0] = value
            report("bound", value)

    h.cbMipImprovingSolution += solution
    h.cbMipInterrupt += bound
    h.cbMipLogging += bound


def _run(h) -> None:
    """``h.run()``, coping with a HiGHS thread scheduler that another user already started.

    HiGHS has one global scheduler per process: once anything ran a MIP with the default
    threads, an instance asking for ``threads=1`` fails at once ("global scheduler has
    already been initialized"). Then solve again with ``threads=0``, which joins the
    existing scheduler instead of resetting it under the other user's feet.
    """
    import highspy

    status = h.run()
    if status == highspy.HighsStatus.kError and h.getModelStatus() == highspy.HighsModelStatus.kNotset:
        h.setOptionValue("threads", 0)
        h.run()


def _rel_gap(objective: float, bound: float) -> float:
    if not np.isfinite(bound) or not np.isfinite(objective):
        return float("inf")
    diff = abs(bound - objective)
    if diff <= 1e-9 * max(1.0, abs(bound)):
        return 0.0
    return diff / max(abs(bound), abs(objective), 1e-12)


def remaining(time_limit: float | None, t0: float) -> float | None:
    """What is left of ``time_limit`` seconds counted from ``t0`` (``time.perf_counter``) for the solver."""
    if time_limit is None:
        return None
    return max(time_limit - (time.perf_counter() - t0), 1e-3)


def status_reason(status: str, time_limit) -> str:
    if status == "no_solution":
        limit = "" if time_limit is None else f" ({time_limit:g} s)"
        return f"no feasible solution found within the time limit{limit}"
    if status == "time_limit":
        limit = "" if time_limit is None else f" ({time_limit:g} s)"
        return f"stopped at the time limit{limit} with the best plan found; its gap is the proven one"
    return ""


# ----------------------------------------------------------------------------- certification


def certify(res: LocationResult, objective: float, violations: list[str], maximize: bool, mip_gap: float = 0.0,
            highs_status: str = "", tol: float = 0.0) -> LocationResult:
    """Decide a solved model's status from its own recomputation, not from the solver's word.

    The one place where a result becomes ``"optimal"``. ``objective`` is recomputed by the
    model from the returned selection with plain numpy, ``violations`` lists the model's
    constraints the selection breaks. A selection that breaks a constraint raises
    :class:`ModelError` naming HiGHS's status; a bound that the recomputed objective beats
    is dropped (status ``"feasible"``, gap ``inf``); otherwise the status is ``"optimal"``
    only when the bound is within the proof tolerance of the objective, ``"gap_limit"``
    within ``mip_gap``, and ``"feasible"`` (a claim that did not hold) beyond it. Time-limit
    and heuristic results keep their status with the recomputed gap.
    """
    from dataclasses import replace

    if res.status == "infeasible" or np.isnan(res.objective):  # nothing was selected to check
        return res
    said = f" (HiGHS model status: {highs_status})" if highs_status else ""
    if not np.isfinite(objective):
        violations = [*violations, f"the objective recomputes to {objective:g}"]
    if violations:
        shown = "; ".join(violations[:3])
        raise _err(f"the solver returned a selection that breaks the model{said}: {shown}.",
                   f"求解器返回的方案违反模型约束{said}：{shown}。")
    tol = max(tol, PROOF_TOL * max(1.0, abs(objective)))
    bound = res.bound
    beyond = objective - bound if maximize else bound - objective
    status, reason = res.status, res.reason
    if not np.isfinite(bound):
        gap = float("inf")
        if res.status in ("optimal", "gap_limit"):
            status, reason = "feasible", f"no proven bound{said}"
    elif beyond > tol:
        status, gap, bound = "feasible", float("inf"), float("nan")
        reason = f"the solver's bound contradicts the recomputed objective {objective:g}{said}"
    else:
        slack = max(0.0, (bound - objective) if maximize else (objective - bound))
        gap = 0.0 if slack <= tol else slack / max(abs(bound), abs(objective), 1e-12)
        if res.status in ("optimal", "gap_limit", "feasible"):
            if gap == 0.0:
                status = "optimal"
            elif gap <= mip_gap + PROOF_TOL:
                status = "gap_limit"
            else:
                status = "feasible"
                reason = reason or (f"reported optimal, but the recomputed objective {objective:g} is {gap:.3%} "
                                    f"from the proven bound {bound:g}{said}")
    return replace(res, objective=float(objective), status=status, gap=float(gap), bound=float(bound), reason=reason)
