"""Location models in a process that other HiGHS users share, and outcomes without a solution."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from siting.errors import ModelError
from siting.models import LSCP, MCLP, CapacitatedMCLP, PCenter, PMedian

COST = np.array([[1.0, 5.0, 2.0], [4.0, 1.0, 2.0], [9.0, 9.0, 1.0], [3.0, 2.0, 8.0]])
W = np.array([5.0, 5.0, 7.0, 2.0])

MODELS = {
    "lscp": lambda: LSCP.from_cost_matrix(COST, 2),
    "mclp": lambda: MCLP.from_cost_matrix(COST, W, 2, 1),
    "cmclp": lambda: CapacitatedMCLP.from_cost_matrix(COST, W, 2, 2, [10, 10, 10]),
    "clscp": lambda: LSCP.from_cost_matrix(COST, 2, capacities=[10, 10, 10], weights=W),
    "pmedian": lambda: PMedian.from_cost_matrix(COST, W, 2),
    "pcenter": lambda: PCenter.from_cost_matrix(COST, 2),
}
EXPECTED = {"lscp": 2, "mclp": 17, "cmclp": 17, "clscp": 3, "pmedian": 26, "pcenter": 2}


def test_models_work_after_another_highs_user_started_the_thread_scheduler():
    # HiGHS keeps one thread scheduler per process: a MIP solved first with default threads
    # used to leave every threads=1 model without a solution (and LSCP crashing in status_reason).
    script = textwrap.dedent("""
        import numpy as np, highspy
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.addVars(3, np.zeros(3), np.full(3, 5.0))
        h.changeColsIntegrality(3, np.arange(3, dtype=np.int32), np.array([highspy.HighsVarType.kInteger] * 3))
        h.changeColsCost(3, np.arange(3, dtype=np.int32), np.array([-1.0, -2.0, -3.0]))
        h.addRow(-highspy.kHighsInf, 7.5, 3, np.arange(3, dtype=np.int32), np.array([1.0, 2.0, 2.5]))
        h.run()
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal and h.getOptions().threads == 0
        from tests.test_models_process import MODELS
        for name, build in MODELS.items():
            res = build().solve()
            print(name, res.status, res.objective)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.strip().splitlines() if line.split(" ")[0] in MODELS)
    assert lines == {name: f"optimal {float(v)}" for name, v in EXPECTED.items()}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("time_limit", [None, 5.0])
def test_outcome_without_a_solution_is_reported_not_crashed(monkeypatch, name, time_limit):
    import siting.models._base as base
    import siting.models.center as center
    import siting.models.coverage as coverage
    import siting.models.median as median

    real = base.solve_highs

    def stopped(*args, **kwargs):
        if args[6] is None or not np.any(args[6]):  # LPs (bounds, max-flow checks) run as usual
            return real(*args, **kwargs)
        return base.MipOutcome("no_solution", None, float("nan"), float("nan"), float("inf"), 0.1,
                               "Time limit reached")

    monkeypatch.setattr(coverage, "solve_highs", stopped)
    monkeypatch.setattr(median, "solve_highs", stopped)
    # p-center's set covers mostly settle by greedy or LP bound: have its checks stop the same way
    monkeypatch.setattr(center, "set_cover", lambda *a, **k: (None, coverage._CoverOutcome(
        "no_solution", float("inf"), float("nan"), "highs-mip", "Time limit reached")))
    # The MCLP's LP relaxation proves the tiny instance's start optimal without a MIP: take one it does not.
    model = _uniform_mclp(300, 60, 4_000.0, 800.0, 5, seed=3) if name == "mclp" else MODELS[name]()
    res = model.solve(time_limit=time_limit)
    assert res.status == "time_limit" and not res.optimal and res.gap > 0
    if np.isnan(res.objective):
        assert "no feasible" in res.reason
    if name == "mclp":  # it keeps its greedy + interchange start, checked, with the LP bound when it had time for one
        assert res.objective == model.weights[res.covered].sum() and len(res.new) == 5
        coverable = model.weights.sum() - model.weights[res.uncoverable].sum()
        if time_limit is None:
            assert res.bound == pytest.approx(model.lp_bound()) and res.objective < res.bound < coverable
        else:  # 5 s leaves no share for the LP next to the guard's grace: the trivial bound
            assert res.bound == coverable


def _uniform_mclp(n: int, m: int, side: float, radius: float, p: int, seed: int = 0) -> MCLP:
    import scipy.sparse as sp
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    sites, pts = rng.uniform(0, side, (m, 2)), rng.uniform(0, side, (n, 2))
    reach = cKDTree(sites).query_ball_point(pts, radius)
    rows = np.repeat(np.arange(len(pts)), [len(q) for q in reach])
    cols = np.concatenate([np.asarray(q, dtype=np.int64) for q in reach])
    cost = sp.csr_array((np.hypot(*(pts[rows] - sites[cols]).T), (rows, cols)), shape=(len(pts), len(sites)))
    return MCLP.from_cost_matrix(cost, rng.integers(1, 101, len(pts)), radius, p)


def test_time_limit_holds_where_highs_does_not_check_its_clock():
    # 10,000 uniform demand points and 1,500 sites in a 21 km square, 1.5 km radius, p = 50. After
    # the root LP HiGHS 1.16 spends about 5 s in one mod-k separation round that checks neither
    # its clock nor the interrupt callbacks: solved in this process, a 3 s limit took 7.9 s. The
    # guarded solve (a child process, killed at the limit) returns in time with the start and the
    # root bound it reported.
    import time

    model = _uniform_mclp(10_000, 1_500, 21_213.0, 1_500.0, 50)
    limit = 3.0
    t0 = time.perf_counter()
    res = model.solve(time_limit=limit)
    elapsed = time.perf_counter() - t0
    assert elapsed <= 1.1 * limit + 2.0
    assert res.status == "time_limit" and 0 < res.gap < 1 and not res.optimal
    assert res.objective < res.bound < model.weights.sum()
    assert len(res.new) == 50
    assert res.objective == model.weights[res.covered].sum()
    assert "3 s" in res.reason


def test_guarded_solve_matches_the_solve_in_this_process():
    from siting.models import _base, _guard

    model = _uniform_mclp(600, 120, 6_000.0, 1_000.0, 6, seed=4)
    red = model._reduced()
    c, a, rlo, rhi, clo, chi = model._arrays(red)
    integer = np.concatenate([np.ones(red.b.shape[1], dtype=bool), np.zeros(red.b.shape[0], dtype=bool)])
    problem = _base.HighsProblem(c, sp_csc(a), rlo, rhi, clo, chi, integer, maximize=True)
    here = _base.solve_problem(problem)
    there = _guard.solve_within(problem, 60.0, guard=True)
    assert here.status == there.status == "optimal"
    assert there.objective == here.objective and np.array_equal(there.x, here.x)
    assert there.highs_status == "Optimal"


def test_a_guarded_solve_with_the_highs_log_on_does_not_block_on_its_pipe():
    from siting.models import _base, _guard

    # HiGHS's log goes to the child's stderr; undrained, 64 KiB of it would block the child
    model = _uniform_mclp(600, 120, 6_000.0, 1_000.0, 6, seed=4)
    red = model._reduced()
    c, a, rlo, rhi, clo, chi = model._arrays(red)
    integer = np.concatenate([np.ones(red.b.shape[1], dtype=bool), np.zeros(red.b.shape[0], dtype=bool)])
    chatty = {"output_flag": True, "log_to_console": True, "log_dev_level": 3, "highs_debug_level": 1}
    problem = _base.HighsProblem(c, sp_csc(a), rlo, rhi, clo, chi, integer, maximize=True, options=chatty)
    quiet = _base.solve_problem(_base.HighsProblem(c, sp_csc(a), rlo, rhi, clo, chi, integer, maximize=True))
    there = _guard.solve_within(problem, 60.0, guard=True)
    assert there.status == "optimal" and there.objective == quiet.objective


def test_guarded_solve_carries_highs_failures_in_both_languages():
    from siting.models import _base, _guard

    # minimise -x with x unbounded above: HiGHS says "Unbounded", which no model accepts
    problem = _base.HighsProblem(np.array([-1.0]), sp_csc(np.ones((1, 1))), np.array([0.0]), np.array([np.inf]),
                                 np.array([0.0]), np.array([np.inf]), None)
    with pytest.raises(ModelError) as here:
        _base.solve_problem(problem)
    with pytest.raises(ModelError) as there:
        _guard.solve_within(problem, 5.0, guard=True)
    assert str(there.value) == str(here.value) and "Unbounded" in str(there.value)
    assert there.value.message("zh") == here.value.message("zh") and "HiGHS 求解失败" in there.value.message("zh")


def test_guarded_solve_does_not_rerun_the_users_script(tmp_path):
    # multiprocessing's spawn and forkserver re-import the main script in the child; a script with
    # no __main__ guard would then solve (and print) twice. The child is a fresh interpreter.
    script = tmp_path / "plan.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        from siting.models import _base, _guard
        problem = _base.HighsProblem(np.array([1.0, 1.0]), _base.sp.csc_array(np.array([[1.0, 1.0]])),
                                     np.array([1.0]), np.array([np.inf]), np.zeros(2), np.ones(2),
                                     np.array([True, True]))
        out = _guard.solve_within(problem, 5.0, guard=True)
        print("solved", out.status, out.objective)
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["solved optimal 1.0"]


def sp_csc(a):
    import scipy.sparse as sp

    return sp.csc_array(a)


def test_an_unknown_highs_option_is_named_and_the_suggested_name_works():
    model = _uniform_mclp(200, 40, 3_000.0, 600.0, 4, seed=1)
    plain = model.solve()
    with pytest.raises(ModelError, match="has no option 'mip_rel_gapp'. Did you mean 'mip_rel_gap'") as err:
        model.solve(options={"mip_rel_gapp": 0.0})
    assert "是否应为 'mip_rel_gap'" in err.value.message("zh")
    fixed = model.solve(options={"mip_rel_gap": 0.0})
    assert fixed.optimal and fixed.objective == plain.objective


@pytest.mark.parametrize("key, value, takes", [("mip_rel_gap", "small", "a number"), ("threads", -3, "an integer"),
                                               ("presolve", "sometimes", "a string"),
                                               ("mip_rel_gap", None, "a number")])
def test_a_highs_option_with_a_wrong_value_says_what_it_takes(key, value, takes):
    with pytest.raises(ModelError, match=f"'{key}' does not accept .*it takes {takes}"):
        _uniform_mclp(200, 40, 3_000.0, 600.0, 4, seed=1).solve(options={key: value})


def _small_problem():
    from siting.models import _base

    model = _uniform_mclp(300, 60, 4_000.0, 800.0, 5, seed=2)
    red = model._reduced()
    c, a, rlo, rhi, clo, chi = model._arrays(red)
    integer = np.concatenate([np.ones(red.b.shape[1], dtype=bool), np.zeros(red.b.shape[0], dtype=bool)])
    return _base.HighsProblem(c, sp_csc(a), rlo, rhi, clo, chi, integer, maximize=True)


def test_a_child_that_cannot_start_falls_back_to_this_process_with_a_warning(monkeypatch):
    from siting.models import _base, _guard

    problem = _small_problem()
    monkeypatch.setattr(_guard, "_CHILD", "import sys; sys.exit('no highspy here')")
    with pytest.warns(RuntimeWarning, match="could not start .*exit code 1.*no highspy here"):
        there = _guard.solve_within(problem, 30.0, guard=True)
    here = _base.solve_problem(problem)
    assert there.status == "optimal" and there.objective == here.objective


def test_a_child_that_dies_mid_solve_is_an_error_not_a_time_limit(monkeypatch):
    from siting.models import _guard

    # it reports a bound, as a solving child does, then dies as a crashing HiGHS would
    crash = ("import os, pickle, sys; pickle.load(sys.stdin.buffer); "
             "pickle.dump(('bound', 1e9), sys.stdout.buffer); sys.stdout.flush(); os._exit(11)")
    monkeypatch.setattr(_guard, "_CHILD", crash)
    with pytest.raises(ModelError, match="exit code 11 before it finished") as err:
        _guard.solve_within(_small_problem(), 30.0, guard=True)
    assert "退出码 11" in err.value.message("zh")


def test_a_solution_that_contradicts_highs_optimal_claim_is_not_reported_optimal(monkeypatch):
    # HiGHS's status and objective are claims about the solution it returns; the objective is
    # recomputed from that solution, so a solution worse than the proven bound is only "feasible"
    from siting.models import _base

    problem = _small_problem()
    honest = _base.solve_problem(problem)
    assert honest.status == "optimal" and honest.objective > 0
    real = _base.new_highs

    class WorseSolution:  # a real HiGHS whose returned plan opens nothing, while it reports the optimum
        def __init__(self):
            self._h = real()

        def __getattr__(self, name):
            return getattr(self._h, name)

        def getSolution(self):
            sol = self._h.getSolution()
            sol.col_value = [0.0] * len(sol.col_value)
            return sol

    monkeypatch.setattr(_base, "new_highs", WorseSolution)
    lied = _base.solve_problem(problem)
    assert lied.highs_status == "Optimal"
    assert lied.objective == 0.0 and lied.bound == pytest.approx(honest.objective)
    assert lied.status == "feasible" and lied.gap == 1.0


def test_a_guarded_solve_stopped_at_its_limit_reports_the_solutions_own_objective(monkeypatch):
    from siting.models import _base, _guard

    problem = _small_problem()
    x = _base.solve_problem(problem).x
    true = float(problem.c @ x)
    # a child that reports the optimum with an inflated figure and a bound above it, then runs on
    liar = ("import pickle, sys, time, numpy as np; pickle.load(sys.stdin.buffer); "
            f"x = np.array({x.tolist()!r}); "
            f"pickle.dump(('solution', ({true} * 2, x)), sys.stdout.buffer); "
            f"pickle.dump(('bound', {true} * 2), sys.stdout.buffer); sys.stdout.flush(); time.sleep(60)")
    monkeypatch.setattr(_guard, "_CHILD", liar)
    out = _guard.solve_within(problem, 1.0, guard=True)
    assert out.status == "time_limit" and out.highs_status == _guard.KILLED_STATUS
    assert out.objective == true and out.bound == 2 * true and out.gap == pytest.approx(0.5)
