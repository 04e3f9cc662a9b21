#!/usr/bin/env python3
"""The Python side of the comparison: read the ratings CSV and compute Krippendorff's alpha with
the `krippendorff` package (0.9). Used two ways by compare.py:

    python alpha_krippendorff.py FILE.csv            # whole script: read + ordinal alpha, prints alpha
    python alpha_krippendorff.py FILE.csv --repeat 5 # in-process timings of alpha at every level
"""
import csv
import sys
import time

import numpy as np
import krippendorff


def read(path: str) -> np.ndarray:
    """Raters x units array with NaN for missing cells (the package's layout)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        next(rows)
        units = [[float(cell) if cell else np.nan for cell in row[1:]] for row in rows]
    return np.array(units, dtype=float).T


def main() -> None:
    path = sys.argv[1]
    data = read(path)
    if "--repeat" not in sys.argv:
        print(krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal"))
        return
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1])
    domain = np.unique(data[~np.isnan(data)])
    for level in ["nominal", "ordinal", "interval", "ratio"]:
        timings = []
        for _ in range(repeat):
            start = time.perf_counter()
            value = krippendorff.alpha(reliability_data=data, level_of_measurement=level, value_domain=domain)
            timings.append(time.perf_counter() - start)
        timings.sort()
        print(f"python_alpha_{level}_ms={timings[len(timings) // 2] * 1000:.3f} value={value:.12f}")


if __name__ == "__main__":
    main()
