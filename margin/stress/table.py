"""The stress results as a table (one row per model and variant), ready for CSV."""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from margin.stress.runner import StressResult



def summary_frame(results: Mapping[str, StressResult]) -> pd.DataFrame:
    """One row per (model, variant): every headline figure, ready for CSV.

    ``results`` maps a model label (e.g. "Normal") to its run.
    """
    rows = []
    for model_label, result in results.items():
        spec = result.spec
        for label, stress in result.variants.items():
            row: dict[str, Any] = {
                "model": model_label, "variant": label, "paths": stress.n_paths, "steps": spec.n_steps,
                "horizon_days": spec.horizon_days, "dof": spec.dof if spec.model == "student_t" else None,
                "seed": spec.seed,
            }
            figures = stress.summary()
            per_position = figures.pop("probability_liquidation")
            counts, intervals = figures.pop("counts"), figures.pop("intervals_95")
            row.update(figures)
            for pid, p in per_position.items():
                row[f"probability_liquidation[{pid}]"] = p
            for name, count in counts.items():
                row[f"paths with {name}"] = count
                row[f"{name} 95 % low"], row[f"{name} 95 % high"] = intervals[name]
            rows.append(row)
    return pd.DataFrame(rows)

