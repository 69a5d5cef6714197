"""GPU cold-start cost: the whole warm-up of a spin-up, across billing windows."""

import pandas as pd
import pytest

from metrics.economics.kpis import gpu_cold_start_cost


def windows(resource, start, count, minutes, cost, utilization=None):
    t0 = pd.Timestamp(start, tz="UTC")
    rows = []
    for n in range(count):
        row = {
            "resource_id": resource,
            "start": t0 + pd.Timedelta(minutes=minutes * n),
            "end": t0 + pd.Timedelta(minutes=minutes * (n + 1)),
            "cost": cost,
        }
        if utilization is not None:
            row["utilization"] = utilization[n]
        rows.append(row)
    return rows


def test_warmup_spans_several_short_windows():
    # 5-minute windows at $5, no utilization data: a 15-minute warm-up is three windows.
    frame = pd.DataFrame(windows("gpu-1", "2026-03-02 08:00", 12, 5, 5.0))
    assert gpu_cold_start_cost(frame, warmup_minutes=15) == pytest.approx(15.0)
    # A warm-up ending inside a window is costed pro rata: 12 minutes = 2 windows + 2/5.
    assert gpu_cold_start_cost(frame, warmup_minutes=12) == pytest.approx(12.0)


def test_warmup_shorter_than_the_spin_up_and_per_spin_up():
    # Two spin-ups (a gap between them), each only 2 windows long: warm-up capped at 10 min.
    frame = pd.DataFrame(
        windows("gpu-1", "2026-03-02 08:00", 2, 5, 5.0)
        + windows("gpu-1", "2026-03-02 10:00", 6, 5, 5.0)
    )
    assert gpu_cold_start_cost(frame, warmup_minutes=15) == pytest.approx(10.0 + 15.0)


def test_hourly_windows_unchanged():
    frame = pd.DataFrame(windows("gpu-1", "2026-03-02 08:00", 3, 60, 60.0))
    assert gpu_cold_start_cost(frame, warmup_minutes=15) == pytest.approx(15.0)


def test_utilization_known_counts_until_productive():
    frame = pd.DataFrame(
        windows("gpu-1", "2026-03-02 08:00", 4, 5, 5.0, utilization=[0.0, 0.05, 0.5, 0.9])
    )
    assert gpu_cold_start_cost(frame) == pytest.approx(10.0)
