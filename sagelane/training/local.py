"""Run the training entry point locally, exactly as the SageMaker container would.

Same file (``training/train.py``), same environment contract (``SM_CHANNEL_*``, ``SM_HPS``,
``SM_MODEL_DIR``, ``SM_OUTPUT_DATA_DIR``, ``SM_OUTPUT_DIR``), in a subprocess; the model directory is
packed into ``model.tar.gz`` as SageMaker packs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagelane.errors import SageLaneError


class TrainingJobError(SageLaneError):
    """The training script failed; the message is its failure reason."""


@dataclass(frozen=True)
class LocalTrainingResult:
    model_dir: Path
    artifact: Path  # model.tar.gz
    metrics: dict[str, Any]
    seconds: float
    log: str


def run_training(
    *,
    source_dir: Path,
    channels: dict[str, Path],
    hyperparameters: dict[str, Any],
    work_dir: Path,
    entry_point: str = "train.py",
    timeout: float = 3600,
) -> LocalTrainingResult:
    model_dir, output_dir = work_dir / "model", work_dir / "output"
    for folder in (model_dir, output_dir / "data"):
        folder.mkdir(parents=True, exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SM_")},
        "SM_MODEL_DIR": str(model_dir),
        "SM_OUTPUT_DIR": str(output_dir),
        "SM_OUTPUT_DATA_DIR": str(output_dir / "data"),
        "SM_HPS": json.dumps({k: v if isinstance(v, str) else json.dumps(v) for k, v in hyperparameters.items()}),
        "SM_NUM_GPUS": "0",
        "SM_CHANNELS": json.dumps(sorted(channels)),
        **{f"SM_CHANNEL_{name.upper()}": str(path) for name, path in channels.items()},
    }
    started = time.perf_counter()
    process = subprocess.run(
        [sys.executable, entry_point],
        cwd=source_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.perf_counter() - started
    log = process.stdout + process.stderr
    if process.returncode != 0:
        failure = output_dir / "failure"
        reason = failure.read_text().strip() if failure.exists() else (log.strip().splitlines() or ["no output"])[-1]
        raise TrainingJobError(reason)
    artifact = work_dir / "model.tar.gz"
    with tarfile.open(artifact, "w:gz") as tar:
        for path in sorted(model_dir.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(model_dir)), recursive=False)
    metrics = json.loads((model_dir / "metrics.json").read_text())
    return LocalTrainingResult(model_dir=model_dir, artifact=artifact, metrics=metrics, seconds=seconds, log=log)
