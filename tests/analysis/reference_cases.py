#!/usr/bin/env python3
"""Reference values for shifter's error-rate test (shared/src/analysis/stats.rs), computed independently with SciPy.

    python -m venv /tmp/scipy && /tmp/scipy/bin/pip install scipy==1.14.1
    /tmp/scipy/bin/python tests/analysis/reference_cases.py > shared/src/analysis/reference_cases.json

The output is committed; `make test` never needs SciPy. The test is the one-sided, unpooled two-proportion z-test of
H0: p_new - p_old <= margin: z = (p_new - p_old - margin) / sqrt(p_new(1-p_new)/n_new + p_old(1-p_old)/n_old),
p = norm.sf(z). Cases whose standard error is 0 are left out (the Rust code decides those exactly)."""

import json
import math
import sys

import scipy
from scipy.stats import norm

CASES = [
    # (new errors, new invocations, old errors, old invocations, margin in points)
    (1, 3, 0, 100, 1.0),
    (40, 400, 15, 3702, 1.0),
    (33, 407, 15, 3702, 1.0),
    (5, 100, 5, 100, 0.0),
    (6, 100, 5, 100, 0.0),
    (12, 100, 5, 100, 1.0),
    (2, 1000, 1, 1000, 0.5),
    (100, 1000, 50, 1000, 1.0),
    (51, 1000, 50, 1000, 0.0),
    (10, 200, 2, 2000, 2.0),
    (1, 10, 1, 10, 0.0),
    (3, 30, 0, 5000, 1.0),
    (250, 500, 200, 500, 5.0),
    (999, 1000, 1, 1000, 50.0),
    (7, 10000, 5, 10000, 0.01),
    (0, 50, 1, 50, 0.0),
    (0, 500, 3, 1000, 1.0),
    (20, 80, 10, 80, 10.0),
    (45, 1500, 30, 1500, 0.5),
    (3, 100, 0, 100, 1.0),
]


def case(e1, n1, e0, n0, margin):
    p1, p0 = e1 / n1, e0 / n0
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    z = (p1 - p0 - margin / 100) / se
    return {"newErrors": e1, "newInvocations": n1, "oldErrors": e0, "oldInvocations": n0,
            "maxIncreasePoints": margin, "z": z, "pValue": float(norm.sf(z))}


def main() -> int:
    out = {"generator": f"tests/analysis/reference_cases.py, SciPy {scipy.__version__}",
           "cases": [case(*c) for c in CASES]}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
