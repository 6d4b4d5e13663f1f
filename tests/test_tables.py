"""Tables for people: labels, headers and the rounding of solver noise."""

import numpy as np
import pandas as pd

from siting.tables import label, localise


def test_localise_rounds_solver_noise_and_keeps_whole_numbers_whole():
    df = pd.DataFrame({
        "places_served": [60.000000000001506, 29.669920000003227],
        "population": [118934.0, np.nan],
        "share_of_unmet": [0.041666, 0.0705],
        "places_per_1000": [4.067796610169491, 5.221153846153846],
        "cost": [1800000.0, 300000.4],
        "name": ["甲", "乙"],
    })
    zh = localise(df)
    assert zh["可分配托位"].tolist() == [60, 30]
    assert zh["人口"].dtype == "Int64" and zh["人口"].iloc[0] == 118934 and pd.isna(zh["人口"].iloc[1])
    assert zh["占未满足需求比例"].tolist() == [0.042, 0.07]  # 0.0705 is 0.07049999... in binary
    assert zh["每千人口托位数"].tolist() == [4.07, 5.22]
    assert zh["估算投资（元）"].tolist() == [1800000, 300000]
    assert df["places_served"].iloc[0] == 60.000000000001506  # the caller's frame is not changed
    en = localise(df, "en")
    assert en["Places allocated"].tolist() == [60, 30]


def test_solver_status_reads_in_chinese():
    curve = pd.DataFrame({"p": [1, 2], "status": ["optimal", "time_limit"]})
    assert localise(curve)["状态"].tolist() == ["最优", "达到时间上限（可行解）"]
    assert label("status", "heuristic") == "启发式解（未证明最优）"
    assert localise(curve, "en")["Status"].tolist() == ["optimal", "time_limit"]  # codes for scripts


def test_money_and_places_read_as_people_expect():
    import pandas as pd

    from siting.tables import localise, money

    assert [money(v) for v in (4_120_000, 375_000, 200_000, 20_000, None)] == ["412", "37.5", "20", "2", "—"]
    assert money(4_120_000, "en") == "4,120,000"
    out = localise(pd.DataFrame({"places_required": [4.72, 9.6288], "places_served": [4.72, 0.0]}))
    assert out["需求托位"].tolist() == [5, 10] and out["可分配托位"].tolist() == [5, 0]
