"""Faults and determinism on the small config: a kill -9 mid-job loses nothing and leaks nothing.

One uninterrupted run is the reference. Each fault test copies it, deletes the outputs of one
job (and the tables), reruns, SIGKILLs the whole Snakemake process group while that job is
running, then unlocks and reruns with --rerun-incomplete: the tables must be byte-identical to
the reference. A second clean run in another folder must be byte-identical too.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import MIRROR, ROOT

pytestmark = pytest.mark.slow

SMALL_CONFIG = ROOT / "tests" / "configs" / "small.yaml"
TABLES = ("results/tables/metrics.parquet", "results/tables/summary.csv")


def command(workdir: Path, *args) -> list:
    return [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
            "--directory", str(workdir), "--configfile", str(SMALL_CONFIG),
            "--config", f"mirror={MIRROR}", "--cores", "2", *args]  # fmt: skip


def run(workdir: Path, *args) -> None:
    done = subprocess.run(command(workdir, *args), cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


def job_running(process: subprocess.Popen, script: str) -> psutil.Process | None:
    """The child process running a workflow script (Snakemake copies it to `tmpXXXX.<script>`)."""
    for child in psutil.Process(process.pid).children(recursive=True):
        try:
            if any(arg.endswith(f".{script}") for arg in child.cmdline()):
                return child
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return None


def kill_mid_job(workdir: Path, script: str, started) -> None:
    """Run Snakemake; SIGKILL its process group once `started(job)` says the job is mid-way."""
    with open(workdir.parent / f"{workdir.name}.killed.log", "w") as log:
        process = subprocess.Popen(command(workdir), cwd=workdir, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while not ((job := job_running(process, script)) and started(job)):
            assert process.poll() is None, f"snakemake ended before a {script} job was killed"
            assert time.monotonic() < deadline, f"no {script} job started"
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGKILL)
        _, alive = psutil.wait_procs([job], timeout=10)
        assert not alive, f"the {script} job outlived its Snakemake process group"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert any((workdir / ".snakemake" / "incomplete").iterdir()), "no job was left incomplete"


def rerun_after_kill(workdir: Path) -> None:
    run(workdir, "--unlock")
    run(workdir, "--rerun-incomplete")
    assert not any((workdir / ".snakemake" / "incomplete").iterdir())


def copy_without(reference: Path, target: Path, *outputs: str) -> Path:
    """A copy of a finished run without `outputs` and the tables, so that both are redone."""
    shutil.copytree(reference, target, symlinks=True)
    for output in (*outputs, *TABLES):
        path = target / output
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return target


def assert_same_tables(one: Path, two: Path) -> None:
    for table in TABLES:
        assert (one / table).read_bytes() == (two / table).read_bytes(), table


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("clean") / "work"
    workdir.mkdir()
    run(workdir)
    return workdir


def test_kill_during_embed_then_rerun_incomplete_gives_the_same_tables(clean_run, tmp_path):
    embedding = "results/embeddings/esm-random-tiny/vep-clinvar-utr5"
    probes = "results/probes/vep-clinvar-utr5/esm-random-tiny"  # else nothing needs it again
    workdir = copy_without(
        clean_run, tmp_path / "work", f"{embedding}.npy", f"{embedding}.json", probes
    )
    kill_mid_job(workdir, "embed.py", lambda job: time.time() - job.create_time() > 4)
    assert not (workdir / f"{embedding}.json").exists()
    rerun_after_kill(workdir)
    assert_same_tables(clean_run, workdir)


def test_kill_during_probe_then_rerun_incomplete_gives_the_same_tables(clean_run, tmp_path):
    probes = Path("results/probes/vep-clinvar-utr5/kmer-naive/random")
    workdir = copy_without(clean_run, tmp_path / "work", str(probes))
    # killed once the first seed's table is written and before the last one: a partial output
    kill_mid_job(workdir, "probe.py", lambda job: (workdir / probes / "seed2541.parquet").exists())
    assert not (workdir / probes / "seed411.parquet").exists()
    rerun_after_kill(workdir)
    assert_same_tables(clean_run, workdir)


def test_two_clean_runs_give_byte_identical_tables(clean_run, tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    run(workdir)
    assert_same_tables(clean_run, workdir)
