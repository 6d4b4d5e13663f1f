"""siting.equity: Gini, Lorenz and share below a threshold, on hand-computed cases."""

import numpy as np
import pandas as pd
import pytest

from siting.equity import equity_table, gini, lorenz, share_below
from siting.errors import DataError


def test_gini_hand_computed():
    # G = ΣΣ w_i w_j |x_i - x_j| / (2 W² μ)
    assert gini([1.0, 3.0], [1.0, 1.0]) == pytest.approx(0.25)  # 2·1·1·2 / (2·4·2)
    assert gini([0.0, 0.0, 0.0, 1.0], [1, 1, 1, 1]) == pytest.approx(0.75)  # 6 / (2·16·0.25)
    # Weighted by children: 1 child at 1, 3 children at 3 → μ = 2.5, 12 / (2·16·2.5) = 0.15 ...
    assert gini([1.0, 3.0], [1.0, 3.0]) == pytest.approx(0.15)
    # ... the same as four children counted one by one, and not the unweighted 0.25.
    assert gini([1.0, 3.0, 3.0, 3.0], np.ones(4)) == pytest.approx(0.15)
    assert gini([3.0, 1.0], [3.0, 1.0]) == pytest.approx(0.15)  # order does not matter
    assert gini([1.0, 3.0], [3.0, 1.0]) == pytest.approx(0.25)  # μ = 1.5: 12 / (2·16·1.5)
    assert gini([5.0, 5.0, 5.0], [1.0, 2.0, 3.0]) == pytest.approx(0.0)
    # A compound without children does not count.
    assert gini([1.0, 3.0, 100.0], [1.0, 1.0, 0.0]) == pytest.approx(0.25)


def test_gini_undefined_cases():
    assert np.isnan(gini([0.0, 0.0], [1.0, 2.0]))  # nobody has any access
    assert np.isnan(gini([1.0, 2.0], [0.0, 0.0]))  # nobody to weigh
    with pytest.raises(DataError, match="item 1 has value nan"):
        gini([1.0, np.nan], [1.0, 1.0])


def test_lorenz_hand_computed():
    curve = lorenz([3.0, 1.0], [1.0, 1.0])
    np.testing.assert_allclose(curve["population_share"], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(curve["access_share"], [0.0, 0.25, 1.0])
    curve = lorenz([1.0, 3.0], [1.0, 3.0])
    np.testing.assert_allclose(curve["population_share"], [0.0, 0.25, 1.0])
    np.testing.assert_allclose(curve["access_share"], [0.0, 0.1, 1.0])


def test_share_below_is_strict():
    assert share_below([100.0, 300.0, 50.0], [10.0, 20.0, 30.0], 100.0) == pytest.approx(0.5)
    assert share_below([100.0, 300.0, 50.0], [10.0, 20.0, 30.0], 100.01) == pytest.approx(40 / 60)


def test_equity_table_per_township_and_district():
    frame = pd.DataFrame({"township": ["甲街道", "甲街道", "乙镇", "乙镇", None],
                          "access": [1.0, 3.0, 0.0, 2.0, 4.0], "children": [1.0, 1.0, 2.0, 2.0, 0.0]})
    table = equity_table(frame, "access", "children", threshold=1.5).set_index("township")
    assert list(table.index) == ["", "乙镇", "甲街道", "全区合计"]
    assert table.loc["甲街道", "gini"] == pytest.approx(0.25)
    assert table.loc["甲街道", "access_mean"] == pytest.approx(2.0)
    assert table.loc["甲街道", "share_below"] == pytest.approx(0.5)
    assert table.loc["乙镇", "gini"] == pytest.approx(0.5)  # half the children have nothing
    assert table.loc["乙镇", "children_below"] == pytest.approx(2.0)
    # District: values 1, 3, 0, 2 over 1, 1, 2, 2 children: μ = 8/6,
    # ΣΣ = 2·(1·1·2 + 1·2·1 + 1·2·1 + 1·2·3 + 1·2·1 + 2·2·2) = 44, G = 44 / (2·36·4/3) = 11/24.
    assert table.loc["全区合计", "gini"] == pytest.approx(11 / 24)
    assert table.loc["全区合计", "children"] == pytest.approx(6.0)
    assert table.loc["全区合计", "share_below"] == pytest.approx(3 / 6)
    assert np.isnan(table.loc["", "gini"])
