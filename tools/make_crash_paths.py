"""Write the crash paths in assets/crashes/ (format "margin-crash/1").

The paths are SHAPED AFTER documented crashes, not tick data: for every market a smooth
drawdown curve through a few hand-set key points (start, bottom, rebound, ...), plus a small
seeded noise, then scaled so that the deepest mark multiplier is exactly the published
magnitude. The last price follows the mark with a small basis and carries brief wicks below
it (the candle that "touched my liquidation price" without liquidating me, because
liquidation is judged on the mark), and in some events a moment where the mark dips below
the last price.

Deterministic: run `python tools/make_crash_paths.py` from the repository root and the same
files come out byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "assets" / "crashes"
MARKETS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"]
LABEL = "Shaped after the event with its published magnitude; not real tick data."

# Each event: number of steps, step length, and per market
#   keys:  (fraction of the path, drawdown as a fraction of the deepest point) key points;
#          0 = starting price, 1 = the bottom. The curve passes through them smoothly.
#   mark:  deepest mark multiplier (the published magnitude)
#   last:  deepest last-price multiplier: a wick, at the bottom, lasting one or two steps
#   extra: further last-price wicks [(fraction, depth below the mark)] and mark dips below
#          the last price [(fraction, depth)] ("mark_dips")
EVENTS = {
    "2020-03-12": {
        "name": "Black Thursday, 12-13 March 2020",
        "shaped_after": (
            "12-13 March 2020: BTC fell from about $7,900 to under $3,900 within about two days "
            "(roughly -50 %), with a first leg on the 12th and a second, deeper one in the early "
            "hours of the 13th, then rebounded to about $5,500; ETH fell from about $195 to about "
            "$90 and most altcoins a little deeper than BTC. BitMEX went down briefly during the "
            "sell-off. SOL perpetuals were not yet trading: its path here follows its beta."
        ),
        "source": "CoinDesk and Reuters reporting, 12-13 March 2020; CoinMarketCap daily price history",
        "step_minutes": 15,
        "steps": 240,
        "shape": [(0.0, 0.0), (0.10, 0.05), (0.22, 0.30), (0.30, 0.62), (0.40, 0.70),
                  (0.47, 0.80), (0.52, 1.0), (0.56, 0.86), (0.66, 0.72), (0.80, 0.62),
                  (1.0, 0.60)],
        "markets": {
            "BTCUSDT": {"mark": 0.50, "last": 0.487},
            "ETHUSDT": {"mark": 0.46, "last": 0.44},
            "SOLUSDT": {"mark": 0.42, "last": 0.39},
            "XRPUSDT": {"mark": 0.48, "last": 0.455},
            "DOGEUSDT": {"mark": 0.47, "last": 0.44},
        },
        "wicks": [(0.31, 0.030)],
        "mark_dips": [(0.58, 0.035)],
    },
    "2021-05-19": {
        "name": "The 19 May 2021 crash",
        "shaped_after": (
            "19 May 2021: BTC fell from about $43,000 to about $30,000 intraday (roughly -30 %) "
            "and rebounded to about $37,000 by the end of the day; ETH fell more than 40 % "
            "intraday, and over $8 billion of positions were liquidated across exchanges that day."
        ),
        "source": "CoinDesk and Bloomberg reporting, 19-20 May 2021; Bybt (now CoinGlass) liquidation data",
        "step_minutes": 5,
        "steps": 288,
        "shape": [(0.0, 0.0), (0.15, 0.12), (0.35, 0.35), (0.48, 0.70), (0.55, 0.85),
                  (0.58, 1.0), (0.62, 0.72), (0.72, 0.55), (0.85, 0.48), (1.0, 0.45)],
        "markets": {
            "BTCUSDT": {"mark": 0.70, "last": 0.685},
            "ETHUSDT": {"mark": 0.57, "last": 0.55},
            "SOLUSDT": {"mark": 0.52, "last": 0.49},
            "XRPUSDT": {"mark": 0.55, "last": 0.52},
            "DOGEUSDT": {"mark": 0.56, "last": 0.52},
        },
        "wicks": [(0.49, 0.025), (0.75, 0.02)],
        "mark_dips": [],
    },
    "2022-11-ftx": {
        "name": "FTX collapse, November 2022",
        "shaped_after": (
            "6-14 November 2022: as FTX collapsed, BTC fell from about $21,000 to about $15,700 "
            "(roughly -25 %) over about a week; SOL, closely tied to FTX and Alameda, fell from "
            "about $38 to about $12 at its low (roughly -65 %) and barely recovered."
        ),
        "source": "Reuters, CoinDesk and Bloomberg reporting, 6-14 November 2022; CoinMarketCap daily price history",
        "step_minutes": 60,
        "steps": 216,
        "shape": [(0.0, 0.0), (0.12, 0.05), (0.22, 0.30), (0.30, 0.70), (0.36, 1.0),
                  (0.42, 0.75), (0.55, 0.85), (0.70, 0.80), (0.85, 0.82), (1.0, 0.78)],
        "markets": {
            "BTCUSDT": {"mark": 0.75, "last": 0.735},
            "ETHUSDT": {"mark": 0.65, "last": 0.63},
            "SOLUSDT": {"mark": 0.35, "last": 0.32,
                        "shape": [(0.0, 0.0), (0.12, 0.08), (0.22, 0.35), (0.30, 0.70),
                                  (0.36, 0.85), (0.42, 0.80), (0.50, 1.0), (0.60, 0.92),
                                  (0.75, 0.95), (1.0, 0.93)]},
            "XRPUSDT": {"mark": 0.66, "last": 0.64},
            "DOGEUSDT": {"mark": 0.58, "last": 0.55},
        },
        "wicks": [(0.31, 0.02)],
        "mark_dips": [(0.44, 0.025)],
    },
    "2025-10-10": {
        "name": "The 10 October 2025 crash",
        "shaped_after": (
            "10-11 October 2025, after a US tariff announcement against China: BTC fell from "
            "about $122,000 to about $105,000 within hours (roughly -14 %) and rebounded to about "
            "$112,000; many altcoins fell far deeper, with -40 % to -70 % wicks, and over $19 "
            "billion of positions were liquidated in a day, the largest on record."
        ),
        "source": "CoinGlass liquidation data as reported by CoinDesk, Reuters and Bloomberg, 10-11 October 2025",
        "step_minutes": 5,
        "steps": 200,
        "shape": [(0.0, 0.0), (0.20, 0.06), (0.30, 0.25), (0.36, 0.60), (0.40, 1.0),
                  (0.44, 0.70), (0.55, 0.55), (0.75, 0.50), (1.0, 0.52)],
        "markets": {
            "BTCUSDT": {"mark": 0.86, "last": 0.845},
            "ETHUSDT": {"mark": 0.80, "last": 0.77},
            "SOLUSDT": {"mark": 0.70, "last": 0.64},
            "XRPUSDT": {"mark": 0.62, "last": 0.55},
            "DOGEUSDT": {"mark": 0.55, "last": 0.40},
        },
        "wicks": [(0.37, 0.03)],
        "mark_dips": [(0.47, 0.02)],
    },
}


def smooth_curve(keys: list[tuple[float, float]], n: int) -> np.ndarray:
    """Monotone (PCHIP) interpolation through the key points, sampled at n steps."""
    x = np.array([k[0] for k in keys]) * (n - 1)
    y = np.array([k[1] for k in keys])
    h = np.diff(x)
    d = np.diff(y) / h
    m = np.zeros_like(y)
    for i in range(1, len(y) - 1):
        if d[i - 1] * d[i] > 0:
            w1, w2 = 2 * h[i] + h[i - 1], h[i] + 2 * h[i - 1]
            m[i] = (w1 + w2) / (w1 / d[i - 1] + w2 / d[i])
    m[0], m[-1] = d[0], d[-1]
    t = np.arange(n, dtype=float)
    k = np.clip(np.searchsorted(x, t, side="right") - 1, 0, len(x) - 2)
    s = (t - x[k]) / h[k]
    h00, h10 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s
    h01, h11 = -2 * s**3 + 3 * s**2, s**3 - s**2
    return h00 * y[k] + h10 * h[k] * m[k] + h01 * y[k + 1] + h11 * h[k] * m[k + 1]


def build(event_id: str, ev: dict, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n = ev["steps"]
    mark, last, betas = {}, {}, {}
    for name in MARKETS:
        spec = ev["markets"][name]
        shape = smooth_curve(spec.get("shape", ev["shape"]), n)
        # small seeded noise (a random walk, mean-reverting), zero at the start
        eps = rng.normal(0.0, 0.012, n)
        noise = np.zeros(n)
        for i in range(1, n):
            noise[i] = 0.85 * noise[i - 1] + eps[i]
        draw = np.clip(shape + noise * (0.3 + shape), -0.02, None)
        draw[0] = 0.0
        # scale so the deepest point is exactly the published magnitude
        depth = 1.0 - spec["mark"]
        m = 1.0 - draw * (depth / draw.max())
        bottom = int(np.argmax(draw))
        # mark dips below the last (the index falls faster than the contract for a moment)
        dips = []
        for frac, d in ev["mark_dips"]:
            j = int(frac * (n - 1))
            lo = max(spec["mark"] + 0.005, m[j] * (1 - d))
            if lo < m[j]:
                dips.append((j, m[j]))
                m[j] = lo
        m = np.round(m, 5)
        # last = mark + small basis
        basis = rng.normal(0.0, 0.0015, n)
        lp = m * (1.0 + basis)
        for j, undipped in dips:
            lp[j] = undipped * (1.0 + abs(basis[j]))
        # the deepest wick, at the bottom: last-price low below the mark low
        lp[bottom] = spec["last"]
        if bottom + 1 < n:
            lp[bottom + 1] = min(lp[bottom + 1], (m[bottom + 1] + spec["last"]) / 2)
        # further brief wicks
        for frac, d in ev["wicks"]:
            j = int(frac * (n - 1))
            if abs(j - bottom) > 2:
                w = max(m[j] * (1 - d), spec["last"] + 0.005)
                if w < m[j] - 0.005:
                    lp[j] = w
        lp[0] = 1.0
        m[0] = 1.0
        lp = np.round(lp, 5)
        mark[name] = [float(v) for v in m]
        last[name] = [float(v) for v in lp]
        btc_depth = 1.0 - ev["markets"]["BTCUSDT"]["mark"]
        betas[name] = round(depth / btc_depth, 2)
    return {
        "format": "margin-crash/1",
        "id": event_id,
        "name": ev["name"],
        "shaped_after": ev["shaped_after"],
        "source": ev["source"],
        "label": LABEL,
        "step_minutes": ev["step_minutes"],
        "markets": {k: {"beta": betas[k]} for k in MARKETS},
        "mark": mark,
        "last": last,
    }


def dump(doc: dict) -> str:
    """JSON with one line per price series."""
    head = {k: v for k, v in doc.items() if k not in ("markets", "mark", "last")}
    lines = ["{"]
    for k, v in head.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},")
    lines.append('  "markets": {')
    lines.append(",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in doc["markets"].items()))
    lines.append("  },")
    for part in ("mark", "last"):
        lines.append(f'  "{part}": {{')
        lines.append(",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in doc[part].items()))
        lines.append("  }," if part == "mark" else "  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for seed, (event_id, ev) in enumerate(EVENTS.items(), start=20200312):
        doc = build(event_id, ev, seed)
        (OUT / f"{event_id}.json").write_text(dump(doc), encoding="utf-8")
        lows = {k: (min(doc["mark"][k]), min(doc["last"][k])) for k in MARKETS}
        print(event_id, len(doc["mark"]["BTCUSDT"]), "steps;",
              ", ".join(f"{k[:-4]} mark {a:.3f} last {b:.3f}" for k, (a, b) in lows.items()))


if __name__ == "__main__":
    main()
