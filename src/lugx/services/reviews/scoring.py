"""How helpful a review is, as one number to sort by: the lower bound of the Wilson score
interval (95 %) of its share of "helpful" votes. One vote out of one is a weak claim (0.21); 900
out of 1,000 a strong one (0.88): sorting by the plain ratio would put the first above the second.
"""

from __future__ import annotations

from math import sqrt

Z = 1.959963984540054  # 95 % two-sided


def wilson_lower_bound(positive: int, total: int) -> float:
    if total <= 0:
        return 0.0
    if not 0 <= positive <= total:
        raise ValueError("positive votes must be between 0 and the total")
    share = positive / total
    z2 = Z * Z
    centre = share + z2 / (2 * total)
    margin = Z * sqrt((share * (1 - share) + z2 / (4 * total)) / total)
    return max(0.0, (centre - margin) / (1 + z2 / total))
