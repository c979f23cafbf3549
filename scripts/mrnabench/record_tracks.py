"""Record how mRNABench cuts input regions and builds 6-track features from the CDS and
splice tracks: tests/fixtures/mrnabench/tracks.json.

Run with mRNABench's own environment (mrna-bench is AGPL: this script only calls its
functions and writes their results, no code of it is copied):

    /work/mbvenv/bin/python scripts/mrnabench/record_tracks.py [MIRROR]

Cases: the 233 Leppek et al. 2022 designed mRNAs (shared mirror), their CDS track marking
each codon start of `CDS.sequence.longest` and an all-zero splice track, plus edge cases
made from the first construct (no CDS; no 5'UTR; the last codon cut by the sequence end;
3'UTRs of 2 and 4 nt; two splice sites). Per case: the tracks (arithmetic runs [first,
last, step] of their 1-positions) and what mRNA-FM's `get_cds`, UTR-LM's
`get_fiveprime_utr` and 3UTRBERT's `get_threeprime_utr` (k = 3..6) return, as (start, end)
offsets in the sequence, and the naive 6-track baseline's two track columns (CDS length,
exon count). The wrapper methods are called on stand-in objects
(no weights are loaded).
"""

import json
import sys
import warnings
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from mrna_bench.models.naive_baseline import NaiveBaseline
from mrna_bench.models.rnafm import RNAFM
from mrna_bench.models.utrbert import UTRBERT
from mrna_bench.models.utrlm import UTRLM

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/fixtures/mrnabench/tracks.json"


def cases(mirror: Path) -> list[dict]:
    frame = pd.read_csv(mirror / "leppek2022_persist_constructs.tsv", sep="\t")
    out = []
    for row in frame.itertuples():
        sequence = row[frame.columns.get_loc("RNA.sequence") + 1].upper().replace("U", "T")
        coding = row[frame.columns.get_loc("CDS.sequence.longest") + 1]
        start = sequence.find(coding)
        cds = np.zeros(len(sequence), dtype=np.int32)
        cds[start : start + len(coding) : 3] = 1
        out.append(
            {
                "id": row.SequenceID,
                "sequence": sequence,
                "cds": cds,
                "splice": np.zeros(len(sequence), dtype=np.int32),
            }
        )
    first = out[0]
    seq, cds = first["sequence"], first["cds"]
    starts = np.flatnonzero(cds)
    end = starts[-1] + 3
    zeros = np.zeros(len(seq), dtype=np.int32)
    splice = zeros.copy()
    splice[[100, len(seq) - 1]] = 1
    edges = [
        ("no-cds", seq, zeros, zeros),
        ("no-5utr", seq[starts[0] :], cds[starts[0] :], zeros[starts[0] :]),
        ("last-codon-cut", seq[: end - 1], cds[: end - 1], zeros[: end - 1]),
        ("short-3utr", seq[: end + 2], cds[: end + 2], zeros[: end + 2]),
        ("3utr-of-4", seq[: end + 4], cds[: end + 4], zeros[: end + 4]),
        ("two-splice-sites", seq, cds, splice),
    ]
    out += [{"id": name, "sequence": s, "cds": c, "splice": p} for name, s, c, p in edges]
    return out


def runs(track: np.ndarray) -> list[list[int]]:
    """The 1-positions of a track as arithmetic runs [first, last, step] (compact: a CDS
    track is one run of step 3)."""
    out = []
    for position in np.flatnonzero(track).tolist():
        if out and (out[-1][2] == 0 or position - out[-1][1] == out[-1][2]):
            run = out[-1]
            run[1], run[2] = position, position - run[0] if run[2] == 0 else run[2]
        else:
            out.append([position, position, 0])
    return out


def offsets(sequence: str, part: str) -> list[int]:
    """(start, end) of `part` in `sequence` (the regions are prefixes, suffixes or slices)."""
    start = sequence.find(part)
    assert start >= 0
    return [start, start + len(part)]


def record(case: dict) -> dict:
    sequence, cds, splice = case["sequence"], case["cds"], case["splice"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        regions = {
            "cds": offsets(sequence, RNAFM.get_cds(None, sequence, cds)),
            "utr5": offsets(sequence, UTRLM.get_fiveprime_utr(None, sequence, cds)),
        }
    for k in range(3, 7):
        part = UTRBERT.get_threeprime_utr(SimpleNamespace(kmer_size=k), sequence, cds)
        regions[f"utr3_k{k}"] = [len(sequence) - len(part), len(sequence)]
    naive = NaiveBaseline("naive-6-track", "cpu")
    features = naive.embed_sequence_sixtrack(sequence, cds, splice)[0].numpy()
    return {
        "id": case["id"],
        "length": len(sequence),
        "cds": runs(cds),
        "splice": runs(splice),
        "regions": regions,
        "naive_track_columns": features[-2:].tolist(),
    }


def main() -> None:
    mirror = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    records = [record(case) for case in cases(mirror)]
    OUT.write_text(json.dumps({"mrna_bench": version("mrna-bench"), "cases": records}) + "\n")
    print(f"{OUT}: {len(records)} cases")


if __name__ == "__main__":
    main()
