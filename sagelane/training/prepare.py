"""Prepare a training set from curated data: a deterministic train / validation / test split.

Deterministic means: the same rows give the same split whatever order the files arrive in — rows are
sorted on every column before a seeded permutation. The split, the contract and the row counts are what
the training job's channels receive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sagelane.contract import Contract
from sagelane.errors import SageLaneError

DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)


class NotEnoughDataError(SageLaneError):
    """Too few labelled rows to train and evaluate."""


@dataclass(frozen=True)
class Prepared:
    folder: Path
    rows: dict[str, int]

    def channel(self, name: str) -> Path:
        return self.folder / name


def split(
    frame: pl.DataFrame, contract: Contract, *, seed: int = 42, fractions=DEFAULT_FRACTIONS
) -> dict[str, pl.DataFrame]:
    if contract.target is None:
        raise SageLaneError(f"the contract of {contract.dataset!r} has no target: nothing to train")
    target = contract.target.column
    labelled = frame.filter(pl.col(target).is_not_null())
    if labelled.height < 30:
        raise NotEnoughDataError(f"{labelled.height} labelled rows of {contract.dataset}: at least 30 are needed")
    ordered = labelled.sort(labelled.columns, nulls_last=True)
    shuffled = ordered.sample(fraction=1.0, shuffle=True, seed=seed)  # deterministic for a seed
    n_train = round(fractions[0] * shuffled.height)
    n_validation = round(fractions[1] * shuffled.height)
    return {
        "train": shuffled[:n_train],
        "validation": shuffled[n_train : n_train + n_validation],
        "test": shuffled[n_train + n_validation :],
    }


def write_channels(parts: dict[str, pl.DataFrame], contract: Contract, folder: Path) -> Prepared:
    """Write each split as Parquet in ``folder/<split>/`` and the contract in ``folder/contract/``."""
    for name, part in parts.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        part.write_parquet(folder / name / f"{name}.parquet")
    (folder / "contract").mkdir(parents=True, exist_ok=True)
    (folder / "contract" / "contract.json").write_text(json.dumps(contract.model_dump(mode="json"), indent=1))
    return Prepared(folder=folder, rows={name: part.height for name, part in parts.items()})
