#!/usr/bin/env python3
"""How long can a daily cycle's floor climb without slowing down?

Issue 13 asked whether "a rise that has not slowed for more than half a
season cannot be a daily cycle" lets the detector call a leak before its
season guard (`climb_seasons`, 0.65 of a day). This replays, without noise,
the daily cycles of `crates/leakwatch-core/tests/gen` (a fundamental plus a
second harmonic of relative size b in [0, 0.3] and any phase, seen from any
phase), measures the climb as detector.rs `climb_start` does (32 slices of
the lifetime; from the last slice within a tenth of the climb above the
lowest floor, to now while the floor is within a tenth of the climb of its
top), and tests the climb's pace as the experiment did: Theil-Sen slopes of
its parts (2 halves: last over first; 3 thirds: last over the fastest earlier
one). It prints, per pace test and climb length, the share of cycles whose
first 36 h hold a climb that long that has not slowed, and the longest such
climb seen.

    python3 bench/detector/cycle_rise.py   # numpy; about a minute
"""
import numpy as np

DAY = 86400.0


def theil_sen(t, f):
    i, j = np.triu_indices(len(t), 1)
    return np.median((f[j] - f[i]) / (t[j] - t[i]))


def climb(t, f, now):
    n = 32
    width = now / n
    idx = np.minimum((t / width).astype(int), n - 1)
    fl = np.full(n, np.inf)
    np.minimum.at(fl, idx, f)
    lowest = int(np.argmin(fl))
    low, end = fl[lowest], fl[-1]
    near = low + 0.1 * max(end - low, 0.0)
    last_low = max(i for i in range(lowest, n) if fl[i] <= near)
    top_i, top = last_low, low
    for i in range(last_low, n):
        if fl[i] >= top:
            top_i, top = i, fl[i]
    still = end >= top - 0.1 * max(top - low, 0.0)
    return (last_low + 0.5) * width, (now if still else (top_i + 0.5) * width), still


def paces(t, f, a, b, k):
    m = (t >= a) & (t <= b)
    tt, ff = t[m], f[m]
    edges = np.linspace(a, b, k + 1)
    out = []
    for i in range(k):
        mm = (tt >= edges[i]) & (tt <= edges[i + 1])
        x, y = tt[mm], ff[mm]
        if len(x) > 16:
            s = np.linspace(0, len(x) - 1, 16).astype(int)
            x, y = x[s], y[s]
        out.append(theil_sen(x, y) if len(x) >= 3 else np.nan)
    return out


def main():
    rng = np.random.default_rng(1)
    cycles = 400
    lengths = [10, 11, 12, 13, 14, 15]
    ratios = [0.5, 0.8, 1.0]
    hits, longest = {}, {}
    for _ in range(cycles):
        b = rng.uniform(0, 0.3)
        psi = rng.uniform(0, 2 * np.pi)
        phase = rng.uniform(0, 2 * np.pi)
        t = np.arange(0, 36 * 3600, 600.0)
        x = 2 * np.pi * t / DAY + phase
        f = (np.sin(x) + b * np.sin(2 * x + psi)) / (1 + b)
        seen = set()
        for now in np.arange(6, 36.01, 0.5) * 3600:
            m = t <= now
            a, e, still = climb(t[m], f[m], now)
            hours = (e - a) / 3600
            if not still or hours < min(lengths):
                continue
            p2 = paces(t[m], f[m], a, e, 2)
            p3 = paces(t[m], f[m], a, e, 3)
            tests = {}
            if p2[0] > 0:
                tests["halves: last/first"] = p2[1] / p2[0]
            if max(p3[:2]) > 0:
                tests["thirds: last/fastest earlier"] = p3[2] / max(p3[:2])
            for name, r in tests.items():
                for ratio in ratios:
                    if r >= ratio:
                        key = (name, ratio)
                        longest[key] = max(longest.get(key, 0.0), hours)
                        for length in lengths:
                            if hours >= length:
                                seen.add((name, ratio, length))
        for s in seen:
            hits[s] = hits.get(s, 0) + 1
    print(f"{cycles} cycles; share with an unslowed climb of at least N hours, and the longest")
    print("pace test                       ratio  " + "  ".join(f"{n:>4}h" for n in lengths) + "  longest")
    for name in ["halves: last/first", "thirds: last/fastest earlier"]:
        for ratio in ratios:
            row = "  ".join(f"{hits.get((name, ratio, n), 0) / cycles:5.3f}" for n in lengths)
            print(f"{name:30} {ratio:5.1f}  {row}  {longest.get((name, ratio), 0):5.1f} h")


if __name__ == "__main__":
    main()
