"""Every catalog family embeds through the embed rule's script from the offline hub of tiny
real models (tests/fakehub): CPU, fp32, 20 real sequences of mixed length (under 50 nt,
longer than most contexts, with N). Checks shape, finiteness, determinism and the revision
recorded; families that need a GPU kernel run up to the first kernel call. Also: strict
loading stops a checkpoint with renamed weights in one line. `pytest -m fakehub`."""

import gzip
import hashlib
import json
import logging
import re
import runpy
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from mrnaprobe.models import resolve_models, run_spec
from tests.conftest import ROOT
from tests.fakehub import CATALOG, FAMILIES

pytestmark = pytest.mark.fakehub

#: What an error at a GPU-only kernel (its import or its first call on CPU) says.
KERNEL_ERROR = re.compile(r"cuda|mamba|causal.conv1d|selective.scan|triton|flash|kernel|gpu|"
                          r"evo2|vortex|transformer.engine", re.IGNORECASE)  # fmt: skip


def catalog_cases():
    """(family, catalog entry) for every catalog entry whose hub id a fakehub family builds."""
    models = yaml.safe_load(CATALOG.read_text())["models"]
    by_hub = {hub: fam for fam in FAMILIES.values() for hub in fam.hub_ids}
    return [
        pytest.param(by_hub[e["source"]], name, id=f"{by_hub[e['source']].name}:{name}")
        for name, e in models.items()
        if e.get("source") in by_hub
    ]


def real_sequences(mirror) -> list[str]:
    """20 real sequences: 6 human 5'UTRs under 50 nt, a CLIP window of N only (the mirror's
    only sequences with N), 12 mRNAs of the DM3Loc subset (0.4-3 kb; in one, 12 nt at 500
    masked to N, as an assembly gap would be) and one of 13 kb (longer than every context
    but HyenaDNA's 16k-1M)."""
    utrs = pd.read_csv(mirror / "calviello2016_hek293_te_mlcis.csv")["five_utr"].str.upper()
    short = sorted(set(utrs[utrs.str.len().between(20, 49)]))[:6]
    with gzip.open(mirror / "ideeps_rbp31_10_PARCLIP_ELAVL1A_hg19_test.fa.gz", "rt") as handle:
        windows = [
            r.split("\n", 1)[1].replace("\n", "").upper() for r in handle.read().split(">")[1:]
        ]
    only_n = [window for window in windows if "N" in window][:1]
    subset = pd.read_csv(mirror / "dm3loc_subset_seed0_len_le3000.csv")
    column = next(c for c in subset.columns if c.lower() in ("sequence", "seq"))
    mrnas = subset[column].str.upper().tolist()[:12]
    mrnas[0] = mrnas[0][:500] + "N" * 12 + mrnas[0][512:]
    with gzip.open(mirror / "dm3loc_modified_multilabel_seq_nonredundent.fasta.gz", "rt") as fa:
        records = "".join(fa).split(">")[1:]
    full = sorted((r.split("\n", 1)[1].replace("\n", "").upper() for r in records), key=len)
    long = [next(s for s in full if len(s) >= 13000)]
    sequences = [s.replace("U", "T") for s in [*short, *only_n, *mrnas, *long]]
    assert len(sequences) == 20 and all(set(s) <= set("ACGTN") for s in sequences)
    return sequences


ORF = re.compile(r"(?=(ATG(?:[ACGT]{3})*?(?:TAA|TAG|TGA)))")


def tracks(sequence: str) -> tuple[np.ndarray, np.ndarray]:
    """(cds, splice) tracks in mRNABench's layout: the mirror has no CDS annotation, so the
    CDS is the longest ORF of at least 100 codons (none in a 5'UTR: the models' no-CDS
    fallback), 1 at each codon start; one exon, its last nucleotide marked."""
    cds, splice = np.zeros(len(sequence), np.int8), np.zeros(len(sequence), np.int8)
    orfs = [(len(m.group(1)), m.start()) for m in ORF.finditer(sequence)]
    length, start = max(orfs, default=(0, 0))
    if length >= 300:
        cds[start : start + length : 3] = 1
    splice[-1:] = 1
    return cds, splice


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, mirror):
    """The 20 sequences, with CDS and splice tracks, as a dataset parquet and its info JSON
    (what rule dataset writes)."""
    folder = tmp_path_factory.mktemp("fakehub_data")
    sequences = real_sequences(mirror)
    cds, splice = zip(*map(tracks, sequences), strict=True)
    frame = pd.DataFrame({"id": [f"s{i}" for i in range(20)], "sequence": sequences,
                          "cds": list(cds), "splice": list(splice)})  # fmt: skip
    # the track readers (mRNA-FM's CDS, the -utronly UTRs) cut 13 mRNAs at their ORF and
    # take mRNABench's fallbacks on the 7 sequences without one
    frame.to_parquet(folder / "mixed.parquet")
    digest = hashlib.sha256((folder / "mixed.parquet").read_bytes()).hexdigest()
    (folder / "mixed.json").write_text(json.dumps({"sha256": digest}))
    return folder


class Named(list):
    """Snakemake's named lists (input, output, params, wildcards)."""

    def __init__(self, **items):
        super().__init__(items.values())
        self.__dict__.update(items)
        self._items = items

    def items(self):
        return self._items.items()


def run_embed_rule(dataset, out, model: str, spec: dict, model_cache=None, name="mixed"):
    """scripts/embed.py as rule `embed` runs it (its `snakemake` object) on dataset `name`
    (dataset/name.parquet + .json) into out/name.npy + .json, in this process; the root
    logger's handlers are restored afterwards."""
    out.mkdir(parents=True, exist_ok=True)
    smk = Named()
    smk.rule = "embed"
    smk.input = Named(dataset=str(dataset / f"{name}.parquet"), info=str(dataset / f"{name}.json"))
    smk.output = Named(embeddings=str(out / f"{name}.npy"), sidecar=str(out / f"{name}.json"))
    smk.log = [str(out / f"{name}.log")]
    smk.threads = 1
    smk.params = Named(spec=spec, model_cache=model_cache)
    smk.wildcards = Named(model=model, dataset=name)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        runpy.run_path(str(ROOT / "scripts" / "embed.py"), init_globals={"snakemake": smk})
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:], root.level = handlers, level


def catalog_spec(name: str) -> dict:
    """The embed rule's spec of a catalog entry, on CPU in fp32."""
    return run_spec(resolve_models([name], CATALOG)[name])


@pytest.mark.parametrize(("fam", "name"), catalog_cases())
def test_fakehub_family_embeds_through_the_rule(fakehub, dataset, tmp_path, fam, name):
    spec = catalog_spec(name)
    if fam.gpu_kernel is not None:
        with pytest.raises((Exception, SystemExit)) as failed:
            run_embed_rule(dataset, tmp_path / "run1", name, spec)
        assert KERNEL_ERROR.search(f"{failed.type.__name__}: {failed.value}"), (
            f"{name} ({fam.gpu_kernel}) failed before its GPU kernel: {failed.value!r}"
        )
        return
    run_embed_rule(dataset, tmp_path / "run1", name, spec)
    run_embed_rule(dataset, tmp_path / "run2", name, spec)
    first = np.load(tmp_path / "run1" / "mixed.npy")
    second = np.load(tmp_path / "run2" / "mixed.npy")
    sidecar = json.loads((tmp_path / "run1" / "mixed.json").read_text())
    config = json.loads(next((fakehub / f"models--{spec['source'].replace('/', '--')}").glob(
        "snapshots/*/config.json")).read_text())  # fmt: skip
    width = config.get("hidden_size") or config.get("d_model")
    assert first.shape == (20, sidecar["dim"]) and first.dtype == np.float32
    assert width is None or sidecar["dim"] == width
    assert np.isfinite(first).all() and np.abs(first).sum(axis=1).min() > 0
    assert np.array_equal(first, second)
    assert sidecar["run"]["device"] == "cpu" and sidecar["run"]["sequences"] == 20
    ref = fakehub / f"models--{spec['source'].replace('/', '--')}" / "refs" / "main"
    assert sidecar["revision"] == ref.read_text()  # the snapshot actually loaded


def test_fakehub_checkpoint_with_renamed_weights_stops_in_one_line(fakehub, dataset, tmp_path):
    """RNA-FM with its encoder's weight keys renamed: one line naming hub id, revision and
    the first missing keys; the load report in the job log; no output."""
    from safetensors.torch import load_file, save_file

    repo = tmp_path / "hub" / "models--multimolecule--rnafm"
    shutil.copytree(fakehub / "models--multimolecule--rnafm", repo)
    sha = (repo / "refs" / "main").read_text()
    weights = repo / "snapshots" / sha / "model.safetensors"
    tensors = load_file(weights)
    save_file({k.replace(".encoder.", ".encoders."): v for k, v in tensors.items()},
              weights, metadata={"format": "pt"})  # fmt: skip
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as stopped:
        run_embed_rule(dataset, out, "rna-fm", catalog_spec("rna-fm"), tmp_path / "hub")
    line = str(stopped.value.code)
    assert "\n" not in line and line.startswith("mrnaprobe: error: [model=rna-fm dataset=mixed]")
    assert f"model multimolecule/rnafm (revision {sha}): weights do not all load" in line
    assert "missing encoder.layer.0." in line and "more)" in line
    assert (
        "loaded multimolecule/rnafm (revision main) as RnaFmModel"
        in (out / "mixed.log").read_text()
    )
    assert not (out / "mixed.npy").exists()


@pytest.mark.slow
def test_fakehub_end_to_end(fakehub, tmp_path, mirror):
    """Snakemake on tests/configs/fakehub.yaml (rna-fm, utrlm-mrl, nt-v2-50m) from the
    offline hub: every stage runs and the metrics name the snapshots loaded."""
    import subprocess
    import sys

    config = ROOT / "tests" / "configs" / "fakehub.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(tmp_path), "--configfile", str(config),
         "--config", f"mirror={mirror}", "--cores", "2"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = pd.read_parquet(tmp_path / "results/tables/metrics.parquet")
    models = yaml.safe_load(config.read_text())["models"]
    assert set(metrics["model"]) == set(models)
    for name, rows in metrics.groupby("model"):
        source = resolve_models([name], CATALOG)[name]["source"]
        ref = fakehub / f"models--{source.replace('/', '--')}" / "refs" / "main"
        assert set(rows["model_revision"]) == {ref.read_text()}, name


@pytest.mark.parametrize("name", ["utrbert-3mer", "utrbert-6mer"])
def test_fakehub_utrbert_tokenises_with_overlapping_kmers_over_n(fakehub, mirror, name):
    """3UTRBERT's vocabulary holds every k-mer over ACGU+N: the engine's overlapping k-mer
    path reproduces its tokenizer on data with N (not the slow tokenizer itself)."""
    from mrnaprobe.embed import fast_tokenizer, to_alphabet
    from mrnaprobe.models import load_adapter

    spec = catalog_spec(name)
    adapter = load_adapter(spec, spec["source"])
    sequences = to_alphabet(real_sequences(mirror), "rna")
    assert any("N" in s for s in sequences)
    assert fast_tokenizer(adapter.tokenizer, sequences).name == "overlapping k-mers"


def test_fakehub_model_lock_pins_the_commit_later_runs_load(fakehub, dataset, tmp_path):
    """`mrnaprobe models lock` records the commit `main` points to; after the hub moves
    `main` to new weights, a run with the lock still loads the locked commit."""
    from safetensors.torch import load_file, save_file

    from mrnaprobe import MrnaProbeError
    from mrnaprobe.cli import main
    from mrnaprobe.lock import apply_lock

    hub = tmp_path / "hub"
    repo = hub / "models--multimolecule--rnafm"
    shutil.copytree(fakehub / "models--multimolecule--rnafm", repo)
    old = (repo / "refs" / "main").read_text()
    config = tmp_path / "config.yaml"
    config.write_text("models: [rna-fm, kmer-naive]\n")
    lock = tmp_path / "models.lock.yaml"
    main(["models", "lock", "--configfile", str(config), "--out", str(lock),
          "--model-cache", str(hub)])  # fmt: skip
    assert yaml.safe_load(lock.read_text())["models"] == {
        "rna-fm": {"source": "multimolecule/rnafm", "revision": old}
    }
    new = "f" * 40  # the hub's main moves on: new weights under a new commit
    shutil.copytree(repo / "snapshots" / old, repo / "snapshots" / new)
    weights = repo / "snapshots" / new / "model.safetensors"
    save_file({k: v * 2 for k, v in load_file(weights).items()}, weights, {"format": "pt"})
    (repo / "refs" / "main").write_text(new)

    specs = resolve_models(["rna-fm"], CATALOG)
    locked = apply_lock(specs, lock)["rna-fm"]
    run_embed_rule(dataset, tmp_path / "locked", "rna-fm", run_spec(locked), hub)
    run_embed_rule(dataset, tmp_path / "main", "rna-fm", run_spec(specs["rna-fm"]), hub)
    revision = {run: json.loads((tmp_path / run / "mixed.json").read_text())["revision"]
                for run in ("locked", "main")}  # fmt: skip
    assert revision == {"locked": old, "main": new}
    assert not np.array_equal(np.load(tmp_path / "locked" / "mixed.npy"),
                              np.load(tmp_path / "main" / "mixed.npy"))  # fmt: skip

    other = resolve_models({"rna-fm": {"source": "multimolecule/mrnafm"}}, CATALOG)
    with pytest.raises(MrnaProbeError, match="locked to multimolecule/rnafm@"):
        apply_lock(other, lock)


@pytest.mark.parametrize("name", ["nt-v2-50m", "rna-fm"])
def test_fakehub_threads_give_the_same_embeddings(fakehub, mirror, name):
    """An embed job's threads on CPU (2 in the workflow) give the embeddings of one thread:
    NT v2's remote code caches its rotary tables per length, which batches in parallel
    threads raced on."""
    from mrnaprobe.embed import embed_sequences

    spec = catalog_spec(name)
    sequences = real_sequences(mirror)
    one = embed_sequences(sequences, spec, spec["source"], threads=1, progress=False)[0]
    two = embed_sequences(sequences, spec, spec["source"], threads=2, progress=False)[0]
    np.testing.assert_allclose(two, one, rtol=1e-4, atol=1e-6)
