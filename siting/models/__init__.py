"""Location models: where to open nurseries.

Each model is a small class built with ``from_cost_matrix`` and solved with ``solve()``,
returning a :class:`LocationResult` (plain data). All solve with HiGHS through ``highspy``,
deterministically (one thread, fixed seed; if another HiGHS user in the process already
started HiGHS's thread scheduler, the models join it), proving optimality unless a time
limit or a gap is given. A status is a checked claim: ``"optimal"`` only when the objective
recomputed from the selection meets the solver's proven bound (``_base.certify``).

- :class:`MCLP`: open p sites to cover the most demand within a service distance.
- :class:`CapacitatedMCLP`: the same, counting only demand that fits in site capacities.
- :class:`LSCP`: the fewest sites covering every coverable demand point (optionally capacitated).
- :class:`PMedian`: open p sites minimising total weighted cost (optionally capacitated).
- :class:`PCenter`: open p sites minimising the largest cost, by bisection.
- :mod:`siting.models.heuristics`: greedy + interchange for instances too large to prove.
"""

from siting.models._base import LocationResult
from siting.models.center import PCenter
from siting.models.coverage import LSCP, MCLP, CapacitatedMCLP
from siting.models.heuristics import greedy_mclp, interchange
from siting.models.median import PMedian

__all__ = [
    "LSCP",
    "MCLP",
    "CapacitatedMCLP",
    "LocationResult",
    "PCenter",
    "PMedian",
    "greedy_mclp",
    "interchange",
]
