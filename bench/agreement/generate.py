#!/usr/bin/env python3
"""Writes the benchmark ratings CSV: 20,000 units x 50 raters, 5-point ordinal (1-5), 10% missing.

Each unit has a true level; each rater sees it with a personal bias and some noise, rounded and
clipped to the scale, so the data look like a calibration spreadsheet (alpha around 0.7-0.8).
Standard library only; seeded, so every run writes the same file.

    python3 bench/agreement/generate.py OUT.csv [--units 20000] [--raters 50] [--missing 0.1]
"""
import argparse
import random


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--units", type=int, default=20_000)
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--missing", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=2011)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    biases = [rng.gauss(0.0, 0.25) for _ in range(args.raters)]
    with open(args.out, "w", encoding="utf-8") as out:
        out.write("unit," + ",".join(f"rater{r + 1}" for r in range(args.raters)) + "\n")
        for unit in range(args.units):
            truth = rng.choice([1, 2, 3, 3, 4, 4, 4, 5, 5])
            cells = []
            for bias in biases:
                if rng.random() < args.missing:
                    cells.append("")
                    continue
                value = round(truth + bias + rng.gauss(0.0, 0.55))
                cells.append(str(min(5, max(1, value))))
            out.write(f"u{unit + 1}," + ",".join(cells) + "\n")


if __name__ == "__main__":
    main()
