"""What a codec switch costs in compute, and what is left of the saving after paying for it.

A codec that saves bytes but decodes 100× slower can cost more in compute than it saves in
storage and bandwidth. The model, per codec C against the anchor A, with the run's median encode
and decode seconds per image (measured on the run's machine) and the user's prices per CPU-hour
and GPU-hour (the device each codec ran on decides which price):

* every new image is encoded once; every delivery is decoded once (set ``--cpu-hour-cost`` and
  ``--gpu-hour-cost`` to what *you* pay: 0 when your clients decode on their own devices);
* compute per month = images × (encode s + deliveries × decode s) ÷ 3600 × price per hour;
* the extra compute of C is its compute minus A's; the first year's net saving is the storage
  and bandwidth saving minus 12 months of extra compute;
* storage savings grow every month (stored data accumulates) while the compute cost does not, so
  a codec that loses money at first can break even: the break-even month is the first month
  whose saving (storage of k months' images + that month's bandwidth) covers that month's
  extra compute; the stored volume then is the volume at which it breaks even.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: the prices used when none are given (stated on the page as assumptions)
DEFAULT_CPU_HOUR_COST = 0.05  # about one vCPU-hour of on-demand cloud compute
DEFAULT_GPU_HOUR_COST = 2.50  # about one hour of a data-centre GPU, on demand
#: how far the break-even search looks, in months
HORIZON_MONTHS = 120


@dataclass(frozen=True)
class ComputeCost:
    encode_s: float | None
    decode_s: float | None
    gpu: bool
    price_per_hour: float

    def per_month(self, images_per_month: float, deliveries: float) -> float | None:
        """Compute spent per month, or None when a timing is missing."""
        if self.encode_s is None or self.decode_s is None:
            return None
        seconds = images_per_month * (self.encode_s + deliveries * self.decode_s)
        return seconds / 3600.0 * self.price_per_hour


def compute_cost(latency: Any, cpu_hour: float, gpu_hour: float) -> ComputeCost:
    """The cost model of one codec from its latency entry (None: no timing recorded)."""
    if latency is None:
        return ComputeCost(None, None, False, cpu_hour)

    def finite(value: float) -> float | None:
        return value if math.isfinite(value) else None

    return ComputeCost(
        finite(latency.encode_median_s),
        finite(latency.decode_median_s),
        bool(latency.gpu),
        gpu_hour if latency.gpu else cpu_hour,
    )


def break_even_month(
    storage_saving_month_1: float, bandwidth_saving_per_month: float, extra_compute: float
) -> int | None:
    """The first month k whose saving k·storage + bandwidth covers the extra compute."""
    for month in range(1, HORIZON_MONTHS + 1):
        if month * storage_saving_month_1 + bandwidth_saving_per_month >= extra_compute:
            return month
    return None


__all__ = [
    "DEFAULT_CPU_HOUR_COST",
    "DEFAULT_GPU_HOUR_COST",
    "HORIZON_MONTHS",
    "ComputeCost",
    "break_even_month",
    "compute_cost",
]
