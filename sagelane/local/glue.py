"""Glue job runs on the embedded AWS: the job's real script, run with local PySpark.

``arn:aws:states:::glue:startJobRun.sync`` reaches :func:`run_job` (through ``sfn_services``). The script
is the one the job definition names (published from the cloud assembly to moto's S3), with the job's
default arguments and the run's own, as Glue passes them. Local Spark has no S3 connector, so the run
gets ``--sagelane_local_dir``: the script's storage then downloads the object and uploads its output
(``sagelane.ingest.spark_job.Storage``). One Spark session serves every run of the process.
"""

from __future__ import annotations

import logging
import runpy
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagelane.environ import thread_environment
from sagelane.local.sagemaker import split_uri

log = logging.getLogger("sagelane.local")
# The provisioner adds this default argument: the staged package's contracts (Glue reads them from the zip).
CONTRACTS_ARGUMENT = "--sagelane_contracts_dir"


@dataclass(frozen=True)
class RunOutcome:
    state: str  # SUCCEEDED | FAILED, as Glue reports JobRunState
    error: str | None
    seconds: float


def run_job(
    s3: Any, job: dict[str, Any], arguments: dict[str, str], environment: dict[str, str] | None = None
) -> RunOutcome:
    """Run one Glue job run to its end, in this process; ``environment`` (the job role's credentials,
    where IAM is enforced) is laid over the script's environment, as Glue gives the run its role."""
    from sagelane.validation.spark import local_session

    started = time.perf_counter()
    merged = {**job.get("DefaultArguments", {}), **arguments}
    with tempfile.TemporaryDirectory(prefix=f"sagelane-glue-{job['Name']}-") as tmp:
        work = Path(tmp)
        try:
            bucket, key = split_uri(job["Command"]["ScriptLocation"])
            script = work / Path(key).name
            s3.download_file(bucket, key, str(script))
            (work / "scratch").mkdir()
            argv = [x for name, value in merged.items() for x in (name, str(value))]
            argv += ["--sagelane_local_dir", str(work / "scratch")]
            local_session(2)  # the script's SparkSession.builder.getOrCreate() finds it
            with thread_environment(environment or {}):
                namespace = runpy.run_path(str(script), run_name="sagelane_glue_job")
                namespace["main"](argv)
        except Exception as exc:
            log.warning("glue job %s failed: %s: %s", job["Name"], type(exc).__name__, exc)
            return RunOutcome("FAILED", f"{type(exc).__name__}: {exc}", time.perf_counter() - started)
        finally:
            shutil.rmtree(work / "scratch", ignore_errors=True)
    return RunOutcome("SUCCEEDED", None, time.perf_counter() - started)
