"""What every benchmark measures with: timing a call and the percentiles of many (benchmarks import it
as `timing`, being run as scripts from this folder)."""

from __future__ import annotations

import statistics
import time


def timed(fn) -> float:
    """Milliseconds one call of `fn()` takes."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def percentile(values: list[float], q: float) -> float:
    """The value at quantile `q` (0..1) of `values`, nearest rank."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def p50_p95(name: str, values: list[float], digits: int = 1) -> dict:
    """`{name}_p50` (the median) and `{name}_p95`, rounded."""
    return {f"{name}_p50": round(statistics.median(values), digits),
            f"{name}_p95": round(percentile(values, 0.95), digits)}
