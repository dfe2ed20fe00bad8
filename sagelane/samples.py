"""Seeded generator of the synthetic customer-churn dataset (``sagelane sample churn``).

The clean table is realistically messy within what ``contracts/churn.yaml`` tolerates: a few missing
e-mail addresses and charges, mixed-case e-mail addresses. With
``defects=True`` it carries the faults real exports have, each of which the contract must catch.
Timestamps are relative to ``as_of`` (default: now) so the freshness rule holds on any day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

# Example penguins (one per species, from the real table's ranges): for requests to a penguins model.
PENGUIN_EXAMPLES = [
    {
        "island": "Biscoe",
        "bill_length_mm": 45.1,
        "bill_depth_mm": 14.5,
        "flipper_length_mm": 215,
        "body_mass_g": 5000,
        "sex": "female",
        "year": 2008,
    },  # Gentoo
    {
        "island": "Torgersen",
        "bill_length_mm": 39.1,
        "bill_depth_mm": 18.7,
        "flipper_length_mm": 181,
        "body_mass_g": 3750,
        "sex": "male",
        "year": 2007,
    },  # Adelie
    {
        "island": "Dream",
        "bill_length_mm": 49.5,
        "bill_depth_mm": 19.0,
        "flipper_length_mm": 200,
        "body_mass_g": 3800,
        "sex": "male",
        "year": 2008,
    },  # Chinstrap
]

COUNTRIES = ["US", "CA", "GB", "DE", "FR", "ES", "IT", "NL", "SE", "AU", "JP", "BR", "IN", "MX"]
PLANS = ["basic", "standard", "premium"]
PRICES = {"basic": 19.0, "standard": 49.0, "premium": 99.0}
DEFECTS = (
    "duplicate customer ids",
    "negative monthly charges",
    "an unknown plan ('enterprise')",
    "malformed e-mail addresses",
    "monthly_charges missing far beyond the allowed 2%",
)


def churn_frame(
    rows: int = 5000, *, seed: int = 7, defects: bool = False, as_of: datetime | None = None
) -> pl.DataFrame:
    if rows < 10:
        raise ValueError("rows must be at least 10")
    rng = np.random.default_rng(seed)
    as_of = (as_of or datetime.now(UTC)).replace(microsecond=0)
    ids = np.array([f"C{n:08d}" for n in rng.choice(90_000_000, size=rows, replace=False) + 10_000_000])
    plan = rng.choice(PLANS, size=rows, p=[0.5, 0.35, 0.15])
    tenure = np.clip(rng.gamma(2.0, 14.0, size=rows).astype(np.int64), 0, 600)
    tickets = rng.poisson(1.2, size=rows)
    autopay = rng.random(rows) < 0.6
    base = np.vectorize(PRICES.get)(plan)
    charges = np.round(base * rng.uniform(0.85, 1.25, size=rows), 2)
    # Churn depends on plan, tenure, tickets and autopay: learnable (ROC-AUC ≈ 0.8) but noisy.
    plan_effect = np.select([plan == "basic", plan == "premium"], [0.4, -0.5], 0.0)
    logit = (
        -1.3
        + 0.8 * tickets
        - 0.05 * tenure
        - 1.1 * autopay
        + 0.01 * (charges - 50)
        + plan_effect
        + rng.normal(0, 0.5, rows)
    )
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
    signup = [
        (as_of - timedelta(days=int(30.4 * t) + int(d))).date()
        for t, d in zip(tenure, rng.integers(0, 30, rows), strict=True)
    ]
    last_seconds = rng.integers(0, 20 * 86400, size=rows)
    last_activity = [as_of - timedelta(seconds=int(s)) for s in last_seconds]
    users = [f"user{n}" for n in rng.integers(0, 10**7, size=rows)]
    domains = rng.choice(["example.com", "mail.example.org", "Example.NET"], size=rows)
    emails = [f"{u}@{d}" if rng.random() > 0.1 else f"{u.upper()}@{d}" for u, d in zip(users, domains, strict=True)]
    phones = [f"+1-555-{n:07d}" for n in rng.integers(0, 10**7, size=rows)]
    frame = pl.DataFrame(
        {
            "customer_id": ids,
            "email": emails,
            "phone": phones,
            "country": rng.choice(COUNTRIES, size=rows),
            "plan": plan,
            "signup_date": signup,
            "tenure_months": tenure,
            "monthly_charges": charges,
            "support_tickets_90d": tickets,
            "autopay": autopay,
            "last_activity_at": last_activity,
            "churned": churned,
        }
    )
    frame = frame.with_columns(pl.col("last_activity_at").dt.replace_time_zone("UTC"))
    # Tolerated mess: ~5 % missing e-mails, ~1 % missing charges (mixed-case addresses above).
    missing_email = rng.random(rows) < 0.05
    missing_charge = rng.random(rows) < 0.01
    frame = frame.with_columns(
        pl.when(pl.Series(missing_email)).then(None).otherwise(pl.col("email")).alias("email"),
        pl.when(pl.Series(missing_charge)).then(None).otherwise(pl.col("monthly_charges")).alias("monthly_charges"),
    )
    if defects:
        frame = _with_defects(frame, rng)
    return frame


def _with_defects(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    n = frame.height
    picks = rng.choice(n, size=max(25, n // 50), replace=False)
    dup, neg, plan, mail = np.array_split(picks, 4)
    idx = pl.int_range(0, n, eager=True)
    first_id = frame["customer_id"][0]
    return frame.with_columns(
        pl.when(idx.is_in(dup)).then(pl.lit(first_id)).otherwise(pl.col("customer_id")).alias("customer_id"),
        pl.when(idx.is_in(neg))
        .then(-pl.col("monthly_charges").abs())
        .otherwise(pl.col("monthly_charges"))
        .alias("monthly_charges"),
        pl.when(idx.is_in(plan)).then(pl.lit("enterprise")).otherwise(pl.col("plan")).alias("plan"),
        pl.when(idx.is_in(mail)).then(pl.lit("not-an-address")).otherwise(pl.col("email")).alias("email"),
    ).with_columns(
        # A broken upstream join: charges missing for 10 % of rows.
        pl.when(pl.Series(rng.random(n) < 0.10))
        .then(None)
        .otherwise(pl.col("monthly_charges"))
        .alias("monthly_charges")
    )


def write_frame(frame: pl.DataFrame, out: Path) -> Path:
    """Write in the format the file name asks for (.csv, .csv.gz, .parquet, .jsonl)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    name = out.name.lower()
    if name.endswith(".parquet"):
        frame.write_parquet(out)
    elif name.endswith(".jsonl"):
        frame.write_ndjson(out)
    elif name.endswith(".csv.gz"):
        import gzip

        with gzip.open(out, "wb", compresslevel=6) as fh:
            frame.write_csv(fh)  # type: ignore[call-overload]  # polars' stubs miss GzipFile; it writes to any binary file
    elif name.endswith(".csv"):
        frame.write_csv(out)
    else:
        raise ValueError(f"{out}: use a .csv, .csv.gz, .parquet or .jsonl name")
    return out
