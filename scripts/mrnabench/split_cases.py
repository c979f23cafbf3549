"""The inputs of the split parity cases, built the same way under mRNABench's environment
(scripts/mrnabench/record_splits.py) and ours (tests/test_split_parity.py).

Plain pandas/numpy only, so that pandas 2.2 and 3.x read the same rows; `fingerprint`
proves both sides saw the same input.
"""

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

SEEDS = [2541, 413, 411, 412, 2547, 321, 421, 311, 2516, 2515]  # config/paper.yaml's
# mRNABench's splitter name -> ours
SPLITTERS = {
    "default": "random",
    "homology": "homologene",
    "kmer": "kmer",
    "hard-kmer": "hard_kmer",
    "chromosome": "chromosome",
}
HUMAN_MAP = "homologene68_human_homology_map.csv"
HOMOLOGENE = "homologene_homologeneData_b833fce.tsv"
CLINVAR = {"Pathogenic": 1, "Likely pathogenic": 1, "Pathogenic/Likely pathogenic": 1,
           "Benign": 0, "Likely benign": 0, "Benign/Likely benign": 0}  # fmt: skip
SYNTHETIC_SIZES = [10, 90, 170, 180, 330, 1579]

CASES = {
    **{
        f"synthetic-{n}": {"splitters": list(SPLITTERS), "targets": ["y", "y_nan"]}
        for n in SYNTHETIC_SIZES
    },  # fmt: skip
    "te-calviello": {"splitters": ["default", "homology"], "targets": ["log2TE"]},
    "vep-clinvar-utr5": {
        "splitters": ["default", "homology", "kmer", "hard-kmer"],
        "targets": ["pathogenic"],  # missing for the other clinical significances
    },
    "mrl-hl-leppek": {
        "splitters": ["default", "kmer", "hard-kmer"],
        "targets": ["ribosome_load", "half_life_in_cell"],  # 30 half-lives missing
    },
    "rbp-elavl1": {"splitters": ["default", "chromosome", "hard-kmer"], "targets": ["bound"]},
    "mrl-sample-human": {"splitters": ["kmer", "hard-kmer"], "targets": ["rl"]},
}


def synthetic(n: int, mirror: Path) -> pd.DataFrame:
    """n rows: sequences of four base compositions, human gene names (mapped, some sharing a
    HomoloGene group; plus unmapped and missing ones), skewed chromosomes, two targets."""
    rs = np.random.RandomState(n)
    profiles = np.array(
        [[0.4, 0.1, 0.1, 0.4], [0.1, 0.4, 0.4, 0.1], [0.25] * 4, [0.7, 0.1, 0.1, 0.1]]
    )
    kinds, lengths = rs.randint(0, 4, n), rs.randint(30, 121, n)
    sequences = ["".join(rs.choice(list("ACGT"), size=length, p=profiles[kind]))
                 for kind, length in zip(kinds, lengths, strict=True)]  # fmt: skip
    human = pd.read_csv(mirror / HUMAN_MAP)
    paralogs = human[human["gene_group"].duplicated(keep=False)]["gene_name"]
    pool = sorted(paralogs)[: max(4, n // 4)] + sorted(human["gene_name"])[: max(4, n // 4)]
    pool += [f"UNMAPPED{i}" for i in range(max(2, n // 10))]
    genes = np.array([pool[i] for i in rs.randint(0, len(pool), n)], dtype=object)
    genes[rs.rand(n) < 0.05] = None
    chromosomes = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"]
    weights = 1 / np.arange(1, 25)
    y = rs.normal(size=n)
    return pd.DataFrame({
        "id": [f"r{i}" for i in range(n)],
        "sequence": sequences,
        "gene": genes,
        "chromosome": rs.choice(chromosomes, size=n, p=weights / weights.sum()),
        "y": y,
        "y_nan": np.where(rs.rand(n) < 0.15, np.nan, y),
    })  # fmt: skip


def read_fasta_windows(path: Path) -> pd.DataFrame:
    """iDeepS windows: header '>chr1,+,start,end; class:0' -> chromosome, bound."""
    headers, sequences = [], []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            line = line.strip()
            if line.startswith(">"):
                headers.append(line[1:])
                sequences.append("")
            elif line:
                sequences[-1] += line
    return pd.DataFrame({
        "id": [f"w{i}" for i in range(len(headers))],
        "sequence": [s.upper() for s in sequences],
        "chromosome": [h.split(",", 1)[0] for h in headers],
        "bound": [float(h.rsplit("class:", 1)[1]) for h in headers],
    })  # fmt: skip


def load_case(name: str, mirror) -> pd.DataFrame:
    """The rows of a case: id, sequence, gene and/or chromosome, its targets (NaN: missing)."""
    mirror = Path(mirror)
    if name.startswith("synthetic-"):
        return synthetic(int(name.split("-")[1]), mirror)
    if name == "te-calviello":
        table = pd.read_csv(mirror / "calviello2016_hek293_te_mlcis.csv")
        return pd.DataFrame({"id": table["transcript_id"], "sequence": table["five_utr"],
                             "gene": table["gene_name"], "log2TE": table["log2TE"]})  # fmt: skip
    if name == "vep-clinvar-utr5":
        table = pd.read_csv(mirror / "sample2019_snv_phenotype_log_diff.csv")
        pathogenic = table["clin_sig"].map(CLINVAR).astype(float)
        return pd.DataFrame({"id": table["id"].astype(str), "sequence": table["utr"],
                             "gene": table["gene_symbol"], "pathogenic": pathogenic})  # fmt: skip
    if name == "mrl-hl-leppek":
        table = pd.read_csv(mirror / "leppek2022_persist_constructs.tsv", sep="\t")
        return pd.DataFrame({"id": table["SequenceID"].astype(str),
                             "sequence": table["RNA.sequence"].str.replace("U", "T"),
                             "ribosome_load": table["ribosome_load"],
                             "half_life_in_cell": table["half_life_in_cell"]})  # fmt: skip
    if name == "rbp-elavl1":
        return read_fasta_windows(mirror / "ideeps_rbp31_10_PARCLIP_ELAVL1A_hg19_test.fa.gz")
    if name == "mrl-sample-human":
        table = pd.read_csv(mirror / "sample2019_human_test_mlcis.csv")
        return pd.DataFrame({"id": [f"m{i}" for i in range(len(table))],
                             "sequence": table["utr"], "rl": table["rl"]})  # fmt: skip
    raise KeyError(name)


def fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of a case's text columns and its targets' missing-value masks."""
    digest = hashlib.sha256()
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind == "f":
            text = "".join("1" if v else "0" for v in values.isna())
        else:
            text = "\x1f".join("<NA>" if pd.isna(v) else str(v) for v in values)
        digest.update(f"{column}\x1e{text}\x1d".encode())
    return digest.hexdigest()
