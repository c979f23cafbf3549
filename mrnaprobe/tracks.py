"""Sequence tracks (CDS, splice sites) for the models that read them.

A dataset may carry per-nucleotide 0/1 tracks (`mrnaprobe.data.TRACKS`, mRNABench's parquet
schema): `cds` is 1 at the first nucleotide of each codon of the CDS, `splice` at the last
nucleotide of each exon. A model reads them when its entry says so: `tracks` (Orthrus
6-track, the 6-track naive baseline) or an `input_region` cut out by the CDS track
(mRNA-FM's CDS, the `-utronly` UTR-LM and 3UTRBERT versions' 5' and 3'UTRs). The regions
follow mRNABench's wrappers, fallbacks included, and the fallbacks are counted in the log.
"""

from __future__ import annotations

import logging

import numpy as np

from mrnaprobe import MrnaProbeError

log = logging.getLogger(__name__)


def needed_tracks(spec: dict) -> list[str]:
    """The dataset tracks a model reads: its `tracks`, and `cds` for an input region."""
    tracks = list(spec.get("tracks") or [])
    if spec.get("input_region", "sequence") != "sequence" and "cds" not in tracks:
        tracks.insert(0, "cds")
    return tracks


def check_model_tracks(models: dict, datasets: dict) -> None:
    """One-line error when a model reads a track that a dataset it embeds does not name in
    `columns:` (planning time, before any job runs). The 6-track models read both tracks."""
    for model, spec in models.items():
        tracks = sorted(spec.get("tracks") or [])
        if spec.get("kind") in ("kmer", "orthrus") and tracks not in ([], ["cds", "splice"]):
            raise MrnaProbeError(
                f"config key models.{model}.tracks: kind {spec['kind']} reads both tracks "
                f"[cds, splice] or none, not {tracks}"
            )
        for track in needed_tracks(spec):
            for name, entry in datasets.items():
                if track not in (entry.get("columns") or {}):
                    why = (f"input_region {spec['input_region']}" if track == "cds"
                           and "cds" not in (spec.get("tracks") or []) else "tracks")  # fmt: skip
                    raise MrnaProbeError(
                        f"config key datasets.{name}.columns: model {model} reads the {track} "
                        f"track ({why}) but dataset {name} names no `{track}:` column"
                    )


def cds_span(cds: np.ndarray) -> tuple[int, int] | None:
    """(start, end) of the CDS marked by a codon-start track: the first codon start to the
    end of the last codon; None without one."""
    starts = np.flatnonzero(cds == 1)
    if len(starts) == 0:
        return None
    return int(starts[0]), int(starts[-1]) + 3


def region_span(length: int, cds: np.ndarray, which: str, min_length: int = 1):
    """(start, end, how) of the part of a sequence a model embeds; how: 'cut' or the fallback.

    cds: first codon start to the end of the last codon, trimmed to whole codons (no CDS:
    the sequence trimmed to whole codons); utr5: before the first codon start (no CDS or
    none before it: the sequence); utr3: after the last codon (no CDS, or shorter than
    `min_length`: the sequence). As mRNABench 1.3.2's mRNA-FM, UTR-LM and 3UTRBERT wrappers.
    """
    span = cds_span(cds)
    if which == "cds":
        start, end, how = (0, length, "no CDS") if span is None else (*span, "cut")
        end = min(end, length)
        if (end - start) % 3:
            end, how = end - (end - start) % 3, how if span is None else "not codons"
        return start, end, how
    if which == "utr5":
        if span is None or span[0] == 0:
            return 0, length, "no CDS" if span is None else "no 5'UTR"
        return 0, span[0], "cut"
    if which == "utr3":
        if span is None:
            return 0, length, "no CDS"
        if length - span[1] < min_length:
            return 0, length, "3'UTR too short"
        return span[1], length, "cut"
    raise MrnaProbeError(f"input_region {which!r} is not one of sequence, cds, utr5, utr3")


def region(sequence: str, cds: np.ndarray, which: str, min_length: int = 1) -> tuple[str, str]:
    """The part of `sequence` a model embeds (`region_span`) and how it was found."""
    start, end, how = region_span(len(sequence), cds, which, min_length)
    return sequence[start:end], how


def cut_regions(sequences, cds_tracks, which: str, min_length: int = 1) -> list[str]:
    """`region` of every sequence; how many were cut and how many fell back, in the log."""
    parts, counts = [], {}
    for sequence, cds in zip(sequences, cds_tracks, strict=True):
        part, how = region(sequence, np.asarray(cds), which, min_length)
        parts.append(part)
        counts[how] = counts.get(how, 0) + 1
    log.info("input region %s of %d sequences: %s", which, len(parts),
             ", ".join(f"{n} {how}" for how, n in sorted(counts.items())))  # fmt: skip
    if not all(parts):
        raise MrnaProbeError(f"input region {which}: a sequence has nothing left to embed")
    return parts


def track_features(cds_tracks, splice_tracks) -> np.ndarray:
    """The 6-track naive baseline's extra columns: CDS length (first codon start to the end
    of the last codon; 0 without a CDS) and the number of marked splice positions."""
    rows = []
    for cds, splice in zip(cds_tracks, splice_tracks, strict=True):
        span = cds_span(np.asarray(cds))
        rows.append((0 if span is None else span[1] - span[0], int(np.sum(splice))))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 2)
