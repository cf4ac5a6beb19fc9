"""Helpers shared by the deepnag tests (a uniquely named module, so test sessions over several packages
never confuse it with another package's conftest)."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
TEST_CONFIG = PACKAGE / "configs" / "test-small.yaml"


def naive_soft_dtw(a, b, gamma, cost):
    """Textbook soft-DTW recursion in Python floats (for hand checks on tiny inputs)."""
    import math

    n, m = len(a), len(b)
    R = [[math.inf] * (m + 1) for _ in range(n + 1)]
    R[0][0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            prev = [R[i - 1][j - 1], R[i - 1][j], R[i][j - 1]]
            finite = [p for p in prev if p < math.inf]
            mn = min(finite)
            soft = mn - gamma * math.log(sum(math.exp(-(p - mn) / gamma) for p in finite))
            R[i][j] = cost(a[i - 1], b[j - 1]) + soft
    return R[n][m]
