"""The accuracy-vs-latency Pareto front: the models no other model beats on both at once."""

from __future__ import annotations

from collections.abc import Sequence


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points (latency, accuracy) that no other point dominates (latency <= and accuracy >=,
    one of them strictly), ordered by latency. Equal points are all kept."""
    front = []
    for i, (lat, acc) in enumerate(points):
        dominated = any(lo <= lat and ao >= acc and (lo < lat or ao > acc)
                        for j, (lo, ao) in enumerate(points) if j != i)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (points[i][0], -points[i][1]))
