"""The workflow on a real single-node SLURM cluster (scripts/slurm_testcluster.sh).

Run as root: ``.venv/bin/pytest -m slurm tests/test_slurm.py`` (apt-installs SLURM on first
use); without ``-m slurm`` they skip. MRNAPROBE_SLURM_REQUIRED=1 (CI) runs them even so and
fails instead of skipping when the cluster can't start.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.conftest import MIRROR

pytestmark = pytest.mark.slurm

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "scripts" / "slurm_testcluster.sh"
SMALL_CONFIG = ROOT / "tests" / "configs" / "small.yaml"
FAULT_SNAKEFILE = ROOT / "tests" / "slurm_fault" / "Snakefile"
# The harness's cluster: partitions and account that replace the profile's placeholders.
PLACEHOLDERS = {"<cpu_partition>": "debug", "<gpu_partition>": "gpu", "<account>": "mrnaprobe"}
# Poll SLURM soon after submitting (the plugin waits 40 s by default) and keep all job logs.
SLURM_TEST_ARGS = [
    "--slurm-init-seconds-before-status-checks=2",
    "--slurm-keep-successful-logs",
    "--latency-wait=5",
]
SACCT_FIELDS = ["JobID", "Partition", "State", "Comment", "ReqTRES", "SubmitLine", "WorkDir"]


def _unavailable(reason: str):
    if os.environ.get("MRNAPROBE_SLURM_REQUIRED") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _harness(action: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(HARNESS), action], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def slurm_cluster(request):
    """Start the test cluster (stopped again at the end unless it was already up)."""
    required = os.environ.get("MRNAPROBE_SLURM_REQUIRED") == "1"
    if "slurm" not in (request.config.getoption("markexpr") or "") and not required:
        pytest.skip("installs and starts SLURM daemons, takes minutes: select with -m slurm")
    if os.geteuid() != 0:
        _unavailable("SLURM tests need root (they install and start slurm daemons)")
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        _unavailable("SLURM is not installed and apt-get is not available to install it")
    was_up = _harness("status", timeout=60).returncode == 0
    started = _harness("start")
    if started.returncode != 0:
        _unavailable(f"could not start the SLURM test cluster:\n{started.stderr[-3000:]}")
    yield
    if not was_up:
        _harness("stop", timeout=120)


def slurm_profile(tmp_path: Path) -> Path:
    """profiles/slurm with its placeholders filled in for the test cluster."""
    text = (ROOT / "profiles" / "slurm" / "config.yaml").read_text()
    for placeholder, value in PLACEHOLDERS.items():
        assert placeholder in text, f"profile lost its {placeholder} placeholder"
        text = text.replace(placeholder, value)
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / "config.yaml").write_text(text)
    return profile


def snakemake(*runs: tuple[Path, list], timeout: int = 900) -> None:
    """Run Snakemake once per (workdir, args), all at the same time; fail on any failure."""
    procs = []
    try:
        for workdir, args in runs:
            workdir.mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, "-m", "snakemake", "--directory", workdir, *args]
            with (workdir / "snakemake.out").open("w") as out:
                procs.append(
                    (subprocess.Popen(list(map(str, cmd)), stdout=out, stderr=out), workdir)
                )
        deadline = time.monotonic() + timeout
        for proc, _ in procs:
            proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.kill()
    for proc, workdir in procs:
        log = (workdir / "snakemake.out").read_text()
        assert proc.returncode == 0, f"Snakemake in {workdir} failed:\n{log[-6000:]}"


def sacct_jobs(workdir: Path) -> list[dict]:
    """Accounting records of the jobs of the SLURM run in workdir, oldest first."""
    log = (workdir / "snakemake.out").read_text()
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)  # the sbatch --job-name
    since = f"{datetime.now() - timedelta(days=1):%Y-%m-%dT%H:%M}"
    out = subprocess.run(
        ["sacct", "-X", "-a", "-n", "-P", "-S", since, "--name", run_id]
        + ["-o", ",".join(SACCT_FIELDS)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [dict(zip(SACCT_FIELDS, line.split("|"), strict=False)) for line in out.splitlines()]
    assert rows and all(r["WorkDir"] == str(workdir) for r in rows), rows
    return rows


def tres(row: dict) -> dict:
    return dict(item.split("=", 1) for item in row["ReqTRES"].split(",") if "=" in item)


def test_retry_after_failure(slurm_cluster, tmp_path):
    workdir = tmp_path / "fault"
    profile = slurm_profile(tmp_path)
    snakemake(
        (workdir, ["--snakefile", FAULT_SNAKEFILE, "--workflow-profile", profile, *SLURM_TEST_ARGS])
    )
    assert (workdir / "flaky.txt").read_text() == "attempt 2\n"
    jobs = sacct_jobs(workdir)
    assert [(j["Comment"], j["State"]) for j in jobs] == [
        ("rule_flaky", "FAILED"),
        ("rule_flaky", "COMPLETED"),
    ]
    failed_log = workdir / ".snakemake" / "slurm_logs" / "rule_flaky" / f"{jobs[0]['JobID']}.log"
    assert "flaky: failing attempt 1" in failed_log.read_text()


def test_workflow_on_slurm_matches_local(slurm_cluster, tmp_path):
    if not (ROOT / "Snakefile").exists() or not SMALL_CONFIG.exists():
        pytest.skip("the workflow or tests/configs/small.yaml is not there yet")
    if not MIRROR.is_dir():
        pytest.skip(f"no data mirror at {MIRROR}")
    common = [
        "--snakefile", ROOT / "Snakefile",
        "--configfile", SMALL_CONFIG,
        "--config", f"mirror={MIRROR}",
    ]  # fmt: skip
    profile = slurm_profile(tmp_path)
    local, cluster = tmp_path / "local", tmp_path / "slurm"
    # Both at once: the SLURM run mostly waits for its jobs, and the wall time counts in CI.
    snakemake(
        (local, [
            *common,
            "--workflow-profile", ROOT / "profiles" / "local",
            "--cores", 2,
        ]),
        (cluster, [*common, "--workflow-profile", profile, *SLURM_TEST_ARGS]),
    )  # fmt: skip

    for table in ("summary.csv", "metrics.parquet"):
        ours, theirs = (d / "results" / "tables" / table for d in (cluster, local))
        assert ours.read_bytes() == theirs.read_bytes(), f"{table} differs from the local run"

    jobs = sacct_jobs(cluster)
    assert jobs and all(j["State"] == "COMPLETED" for j in jobs), jobs

    # A model that asks --gpus=N (its catalog entry) went to the GPU partition, the others
    # (k-mer) as `embed_cpu` to the default CPU partition, without GPUs.
    models = yaml.safe_load(SMALL_CONFIG.read_text())["models"]
    embeds = [j for j in jobs if re.match(r"rule_embed(_cpu)?_wildcards_", j["Comment"])]
    assert len(embeds) == len(list((cluster / "results" / "embeddings").glob("*/*.npy")))
    for job in embeds:
        # the comment joins the job's wildcard values with "_" (their order varies by plugin)
        values = job["Comment"].split("_wildcards_", 1)[1].split("_")
        model = next((m for m in models if m in values), None)
        assert model, f"embed job comment {job['Comment']!r} names none of {list(models)}"
        gpus = models[model].get("gpus", 0)
        assert job["Partition"] == ("gpu" if gpus else "debug"), job
        assert job["Comment"].startswith("rule_embed_cpu_") != bool(gpus), job
        assert tres(job).get("gres/gpu") == (str(gpus) if gpus else None), job
        assert (f"--gpus={gpus}" in job["SubmitLine"]) == bool(gpus), job
    gpus = [bool(models[m].get("gpus", 0)) for m in models]
    assert any(gpus) and not all(gpus), "small config needs a GPU and a CPU model"

    # Probe jobs were batched (groups + group-components), each asking for its probe.threads.
    threads = yaml.safe_load(SMALL_CONFIG.read_text())["probe"]["threads"]
    probe_jobs = len(list((cluster / "results" / "probes").glob("*/*/*")))
    batches = [j for j in jobs if "'probe:" in j["SubmitLine"]]
    sizes = [j["SubmitLine"].count("'probe:") for j in batches]
    assert sum(sizes) == probe_jobs and len(batches) < probe_jobs, sizes
    for job, size in zip(batches, sizes, strict=True):
        assert int(tres(job)["cpu"]) == threads * size, job
