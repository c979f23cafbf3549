"""Data stage: read a catalog entry's source table, normalise and validate sequences."""

import contextlib
import gzip
import hashlib
import json
import logging
import os
import random
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mrnaprobe import MrnaProbeError

log = logging.getLogger(__name__)

VALID_SEQUENCE = re.compile(r"^[ACGTN]+$")
TASKS = ("regression", "binary", "multilabel")


def sha256sum(path, decompress: bool = False) -> str:
    """Hex sha256 of a file's bytes (of its gunzipped bytes with `decompress`)."""
    digest = hashlib.sha256()
    with (gzip.open if decompress else open)(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_file_name(source: dict) -> str:
    """File name a source is known by in the mirror and the download cache."""
    return Path(source.get("path") or source["url"].split("?")[0]).name


def is_compressed_copy(path, source: dict) -> bool:
    """Whether `path` is a gzip copy `NAME.gz` standing in for a source whose file is `NAME`."""
    return Path(path).name == f"{source_file_name(source)}.gz"


def source_sha256(path, source: dict) -> str:
    """sha256 of the bytes a source names: a compressed copy is hashed decompressed."""
    try:
        return sha256sum(path, decompress=is_compressed_copy(path, source))
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        raise MrnaProbeError(f"{path}: cannot read ({err})") from err


def verify_source(path, source: dict) -> None:
    """Raise when the file read for `source` does not have its sha256 (no-op without one)."""
    expected = source.get("sha256")
    if expected and (actual := source_sha256(path, source)) != expected:
        what = "decompressed sha256" if is_compressed_copy(path, source) else "sha256"
        raise MrnaProbeError(f"{path}: {what} {actual} does not match the catalog's {expected}")


def dataset_sources(entry: dict) -> list[dict]:
    """A dataset's source files: its `source`, or each of its `sources`."""
    return entry["sources"] if "sources" in entry else [entry["source"]]


def dataset_source_paths(entry: dict, mirror, cache) -> list[str]:
    """Where each of a dataset's source files is read from (see resolve_source)."""
    return [resolve_source(source, mirror, cache) for source in dataset_sources(entry)]


def config_sources(config: dict):
    """Every source file a config reads, as (config key, source) pairs."""
    for name, entry in config["datasets"].items():
        if "sources" in entry:
            for i, source in enumerate(entry["sources"]):
                yield f"datasets.{name}.sources.{i}", source
        else:
            yield f"datasets.{name}.source", entry["source"]
        if join := entry.get("join"):
            yield f"datasets.{name}.join.source", join["source"]
    for name, entry in (config.get("gene_group_maps") or {}).items():
        yield f"gene_group_maps.{name}.source", entry["source"]


def read_fasta(path) -> pd.DataFrame:
    """FASTA records as a frame with `header` and `sequence` columns (gzip by suffix)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    headers, sequences = [], []
    try:
        with opener(path, "rt") as handle:
            for line in handle:
                line = line.strip()
                if line.startswith(">"):
                    headers.append(line[1:].strip())
                    sequences.append([])
                elif line:
                    if not headers:
                        raise MrnaProbeError(f"{path}: sequence line before the first '>' header")
                    sequences[-1].append(line)
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise MrnaProbeError(f"{path}: cannot read FASTA ({err})") from err
    if not headers:
        raise MrnaProbeError(f"{path}: no FASTA records")
    return pd.DataFrame({"header": headers, "sequence": ["".join(s) for s in sequences]})


def read_table(path, fmt: str) -> pd.DataFrame:
    """Read a csv, tsv, parquet or fasta file into a frame; unreadable files raise one line."""
    try:
        if fmt == "fasta":
            return read_fasta(path)
        if fmt == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="," if fmt == "csv" else "\t", low_memory=False)
    except MrnaProbeError:
        raise
    except Exception as err:  # pandas/pyarrow raise many types for broken files
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise MrnaProbeError(f"{path}: cannot read as {fmt} ({message})") from err


def require_columns(frame: pd.DataFrame, columns, path) -> None:
    """Raise naming the first column the catalog expects but the file lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MrnaProbeError(
            f"{path}: column {missing[0]!r} not found (has {list(frame.columns)[:12]})"
        )


def parse_header_fields(frame: pd.DataFrame, patterns: dict, path) -> pd.DataFrame:
    """Add one column per regex (named group `value`) matched against FASTA headers."""
    for column, pattern in patterns.items():
        values = frame["header"].str.extract(pattern, expand=False)
        if isinstance(values, pd.DataFrame):
            values = values["value"]
        if values.isna().any():
            row = int(values.isna().to_numpy().argmax())
            raise MrnaProbeError(f"{path}: record {row + 1} header does not match {pattern!r}")
        frame[column] = values
    return frame


def normalise_sequences(sequences: pd.Series, ids: pd.Series, path) -> pd.Series:
    """Upper-case, U->T, and validate (non-empty, A/C/G/T/N only).

    Errors name the row by the frame's index: the source file's data row (header not counted)
    or FASTA record, counted from 1, whatever rows were filtered out before.
    """
    normalised = sequences.fillna("").astype(str).str.strip().str.upper().str.replace("U", "T")
    for row, seq_id, seq in zip(normalised.index, ids, normalised, strict=True):
        if not seq:
            raise MrnaProbeError(f"{path}: row {row + 1} (id {seq_id}): empty sequence")
        if not VALID_SEQUENCE.match(seq):
            bad = sorted(set(seq) - set("ACGTN"))
            raise MrnaProbeError(
                f"{path}: row {row + 1} (id {seq_id}): characters {''.join(bad)!r} "
                "outside A/C/G/T/U/N"
            )
    return normalised


#: Per-nucleotide 0/1 tracks a dataset may carry (mRNABench's parquet): `cds` marks the first
#: nucleotide of each codon of the CDS, `splice` the last nucleotide of each exon.
TRACKS = ("cds", "splice")


def track_array(cell, row, column, path) -> np.ndarray:
    """One cell of a track column as an int8 array: an array or list, or its JSON text."""
    if isinstance(cell, str):
        with contextlib.suppress(ValueError):
            cell = json.loads(cell)
    try:
        values = np.asarray(cell, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        values = np.empty((0, 0))
    if values.ndim != 1 or (len(values) and not np.isin(values, (0, 1)).all()):
        raise MrnaProbeError(
            f"{path}: row {row + 1}: track column {column!r} value {str(cell)[:40]!r} "
            "is not a list of 0/1 values"
        )
    return values.astype(np.int8)


def track_values(raw: pd.Series, sequences: pd.Series, path) -> list[np.ndarray]:
    """A track column validated against the sequences: 0/1 values, one per nucleotide."""
    arrays = []
    for row, cell, sequence in zip(raw.index, raw, sequences, strict=True):
        values = track_array(cell, row, raw.name, path)
        if len(values) != len(sequence):
            raise MrnaProbeError(
                f"{path}: row {row + 1}: track column {raw.name!r} has {len(values)} values, "
                f"the sequence {len(sequence)} nt"
            )
        arrays.append(values)
    return arrays


def is_label_array(spec: dict) -> bool:
    """A multilabel target read from one column of 0/1 arrays (mRNABench's parquet schema)."""
    return spec["task"] == "multilabel" and "columns" not in spec


def target_columns(targets: dict) -> dict:
    """Map each target name to the source columns it reads."""
    return {
        name: spec["columns"]
        if spec["task"] == "multilabel" and "columns" in spec
        else [spec.get("column", name)]
        for name, spec in targets.items()
    }


def label_array(cell, row, column, path) -> np.ndarray | None:
    """One cell of a label-array column as a 1-D float array (None: missing)."""
    if cell is None or (np.ndim(cell) == 0 and pd.isna(cell)):
        return None
    if isinstance(cell, str):  # a list written as text, e.g. "[0, 1, 0]" in a csv
        try:
            cell = json.loads(cell)
        except ValueError:
            cell = None
    try:
        values = np.asarray(cell, dtype=np.float64)
    except (TypeError, ValueError):
        values = np.empty((0, 0))
    if values.ndim != 1 or len(values) == 0:
        raise MrnaProbeError(
            f"{path}: row {row + 1}: multilabel column {column!r} value {str(cell)[:40]!r} "
            "is not a list of numbers"
        )
    return values


def expand_label_arrays(raw: pd.Series, name: str, spec: dict, path) -> pd.DataFrame:
    """A column of per-row label arrays as one 0/1 column per label, `{name}:{label}`.

    Every array must have the same length, equal to `labels` (a count or the label names)
    when the catalog gives it; a missing cell leaves all labels of that row missing.
    """
    arrays = {row: label_array(cell, row, raw.name, path) for row, cell in raw.items()}
    present = {row: values for row, values in arrays.items() if values is not None}
    if not present:
        raise MrnaProbeError(f"{path}: multilabel column {raw.name!r} has no values")
    first = next(iter(present))
    width = len(present[first])
    for row, values in present.items():
        if len(values) != width:
            raise MrnaProbeError(
                f"{path}: row {row + 1}: multilabel column {raw.name!r} has {len(values)} "
                f"labels, row {first + 1} has {width}"
            )
    labels = spec.get("labels", width)
    names = labels if isinstance(labels, list) else [str(i) for i in range(labels)]
    if len(names) != width:
        raise MrnaProbeError(
            f"{path}: multilabel column {raw.name!r} holds {width} labels per row, "
            f"the catalog's target {name!r} expects {len(names)}"
        )
    matrix = np.full((len(raw), width), np.nan)
    for i, values in enumerate(arrays.values()):
        if values is not None:
            matrix[i] = values
    columns = [f"{name}:{label}" for label in names]
    log.info("target %s: column %s expanded into %d labels", name, raw.name, width)
    return pd.DataFrame(matrix, index=raw.index, columns=columns)


def apply_value_map(frame: pd.DataFrame, name: str, spec: dict, path) -> pd.DataFrame:
    """Map a target's raw values (e.g. ClinVar calls) to numbers; rows with other values go."""
    column = spec.get("column", name)
    mapped = frame[column].map(spec["map"])
    if mapped.isna().all():
        seen = list(frame[column].drop_duplicates()[:5])
        raise MrnaProbeError(
            f"{path}: target {name!r}: no value of column {column!r} is in its map "
            f"(values include {seen})"
        )
    excluded = frame.loc[mapped.isna(), column].value_counts(dropna=False)
    if len(excluded):
        log.info(
            "target %s: %d rows excluded, value not in map: %s",
            name,
            int(excluded.sum()),
            ", ".join(f"{k}={v}" for k, v in excluded.items()),
        )
    frame = frame.loc[mapped.notna()].copy()
    frame[column] = mapped[mapped.notna()]
    return frame


def join_table(frame: pd.DataFrame, join: dict, path, join_path) -> pd.DataFrame:
    """Inner-join a second table on a key (rows keep their source row index); log the losses."""
    other = read_table(join_path, join.get("format", "tsv"))
    left, right = join["keys"]
    require_columns(frame, [left], path)
    require_columns(other, [right, *join["columns"]], join_path)
    other = other.dropna(subset=[right]).drop_duplicates(subset=[right], keep=False)
    merged = (
        frame.rename_axis("_row")
        .reset_index()
        .merge(other[[right, *join["columns"]]], left_on=left, right_on=right, how="inner")
        .set_index("_row")
        .rename_axis(None)
    )
    log.info(
        "join with %s on %s=%s: %d of %d rows have a partner, %d dropped",
        Path(join_path).name,
        left,
        right,
        len(merged),
        len(frame),
        len(frame) - len(merged),
    )
    return merged


def filter_rows(frame: pd.DataFrame, column: str, min_length=None, max_length=None):
    """Rows whose sequence length (nt) is within the bounds given; drops counted and logged."""
    lengths = frame[column].fillna("").astype(str).str.strip().str.len()
    outside = {}
    if min_length:
        outside[f"shorter than {min_length} nt"] = lengths < min_length
    if max_length:
        outside[f"longer than {max_length} nt"] = lengths > max_length
    drop = pd.concat(outside.values(), axis=1).any(axis=1)
    reasons = ", ".join(f"{int(mask.sum())} {reason}" for reason, mask in outside.items())
    log.info("filter: kept %d of %d rows, %d dropped (%s)", int((~drop).sum()), len(frame),
             int(drop.sum()), reasons)  # fmt: skip
    return frame.loc[~drop]


def subsample_rows(frame: pd.DataFrame, rows: int, seed: int, sampler: str = "numpy"):
    """A seeded random subset of `rows` rows in their original order (logged).

    numpy: numpy's default_rng(seed).choice; python: the first `rows` row positions after
    random.Random(seed).shuffle (how the DM3Loc subset in SOURCES.md was drawn).
    """
    if len(frame) <= rows:
        return frame
    if sampler == "python":
        picked = list(range(len(frame)))
        random.Random(seed).shuffle(picked)
        picked = picked[:rows]
    else:
        picked = np.random.default_rng(seed).choice(len(frame), rows, replace=False)
    log.info("subsample: kept %d of %d rows (%s sampler, seed %d), %d dropped", rows, len(frame),
             sampler, seed, len(frame) - rows)  # fmt: skip
    return frame.iloc[np.sort(picked)]


def select_rows(frame: pd.DataFrame, entry: dict, path) -> pd.DataFrame:
    """The source rows a dataset keeps: `filter`, then `subsample`, then ordered by `sort_by`."""
    sequence = entry.get("columns", {}).get("sequence", "sequence")
    require_columns(frame, [sequence, *([entry["sort_by"]] if "sort_by" in entry else [])], path)
    if length := entry.get("filter"):
        frame = filter_rows(frame, sequence, **length)
    if subsample := entry.get("subsample"):
        frame = subsample_rows(frame, **subsample)
    if "sort_by" in entry:
        frame = frame.sort_values(entry["sort_by"], kind="stable")
    return frame


def element_columns(entry: dict) -> list[str]:
    """Source columns the compositional elements read (`column`, or `region` naming one)."""
    names = []
    for spec in (entry.get("compositional") or {}).values():
        for key in ("column", "region"):
            if isinstance(spec.get(key), str) and spec[key] not in names:
                names.append(spec[key])
    return names


def read_source(entry: dict, path) -> pd.DataFrame:
    """One source file as a frame (FASTA header fields parsed)."""
    frame = read_table(path, entry["format"])
    if entry["format"] == "fasta":
        frame = parse_header_fields(frame, entry.get("header_fields", {}), path)
    return frame


def claim_ids(ids: pd.Series, path, seen: dict) -> None:
    """Record a file's ids in `seen` (id -> (file, row)); an id seen before is an error
    naming both files (or both rows of one file)."""
    for row, seq_id in ids.items():
        if seq_id in seen:
            where = seen[seq_id]
            raise MrnaProbeError(
                f"{path}: row {row + 1}: id {seq_id!r} is also in {where[0]} (row {where[1]})"
            )
        seen[seq_id] = (path, row + 1)


def read_sources(entry: dict, paths) -> tuple[pd.DataFrame, str]:
    """The source table and the name errors give it: one file, or the files of `sources`,
    each given its fixed column values (`set`), its sequences and ids checked (errors name
    the file and row), stacked in order; an id in two files is an error naming both."""
    if "sources" not in entry:
        path = paths[0] if isinstance(paths, list | tuple) else paths
        return read_source(entry, path), str(path)
    columns = entry.get("columns", {})
    frames, seen = [], {}
    for i, (source, path) in enumerate(zip(entry["sources"], paths, strict=True)):
        frame = read_source(entry, path)
        fixed = source.get("set", {})
        if clash := [c for c in fixed if c in frame.columns]:
            raise MrnaProbeError(
                f"{path}: column {clash[0]!r} is in the file and in the config's sources.{i}.set"
            )
        sequence = columns.get("sequence", "sequence")
        require_columns(frame, [sequence, *([columns["id"]] if "id" in columns else [])], path)
        ids = frame[columns["id"]].astype(str) if "id" in columns else frame.index.astype(str)
        normalise_sequences(frame[sequence], ids, path)
        if "id" in columns:
            claim_ids(ids, path, seen)
        frames.append(frame.assign(**fixed))
    log.info("sources: %s", ", ".join(f"{Path(p).name} {len(f)} rows"
                                      for p, f in zip(paths, frames, strict=True)))  # fmt: skip
    return pd.concat(frames, ignore_index=True), " + ".join(map(str, paths))


def build_dataset(name: str, entry: dict, path, join_path=None) -> pd.DataFrame:
    """Read, select, join, map, validate and normalise one catalog dataset (parquet contract).

    `path`: the source file, or one per `sources` entry (see read_sources). `filter`,
    `subsample` and `sort_by` act on the source table's rows, before `join` and `map`.
    Columns in `carry_columns` (default: those the compositional elements read) are copied.
    """
    frame, path = read_sources(entry, path)
    frame = select_rows(frame, entry, path)
    if join := entry.get("join"):
        frame = join_table(frame, join, path, join_path)
    columns = entry.get("columns", {})
    targets = entry["targets"]
    needed = [columns.get("sequence", "sequence")]
    needed += [columns[k] for k in ("id", "gene", "chromosome", *TRACKS) if k in columns]
    needed += [c for cols in target_columns(targets).values() for c in cols]
    carried = entry.get("carry_columns", element_columns(entry))
    require_columns(frame, needed + carried, path)
    for target, spec in targets.items():
        if "map" in spec and is_label_array(spec):
            raise MrnaProbeError(f"{path}: target {target!r}: `map` does not apply to label arrays")
        if "map" in spec:
            frame = apply_value_map(frame, target, spec, path)
    if frame.empty:
        raise MrnaProbeError(f"{path}: no rows left for dataset {name!r}")
    out = pd.DataFrame(index=frame.index)
    if "id" in columns:
        if (missing := frame[columns["id"]].isna()).any():
            raise MrnaProbeError(f"{path}: row {missing.idxmax() + 1}: missing id")
        out["id"] = frame[columns["id"]].astype(str)
    else:
        out["id"] = [f"{name}:{i}" for i in range(len(frame))]
    if (duplicated := out["id"].duplicated()).any():
        row = duplicated.idxmax()
        raise MrnaProbeError(f"{path}: row {row + 1}: duplicate id {out['id'][row]!r}")
    out["sequence"] = normalise_sequences(frame[needed[0]], out["id"], path)
    for key in ("gene", "chromosome"):
        if key in columns:
            out[key] = frame[columns[key]].astype("string")
    for track in TRACKS:
        if track in columns:
            out[track] = track_values(frame[columns[track]], out["sequence"], path)
    for target, source_columns in target_columns(targets).items():
        task = targets[target]["task"]
        if is_label_array(targets[target]):
            labels = expand_label_arrays(frame[source_columns[0]], target, targets[target], path)
            source_columns, frame = list(labels.columns), frame.join(labels)
        for column in source_columns:
            out[column] = target_values(frame[column], task, path)
            if missing := int(out[column].isna().sum()):
                log.info("target %s column %s: %d rows missing", target, column, missing)
    for column in carried:
        if column not in out:
            out[column] = frame[column]
    return out.reset_index(drop=True)


def target_values(raw: pd.Series, task: str, path) -> pd.Series:
    """A target column as float64 (NaN: missing); finite, 2+ values, 0/1 unless regression."""
    values = pd.to_numeric(raw, errors="coerce").astype("float64")
    if (bad := (values.isna() & raw.notna()) | np.isinf(values)).any():
        row = bad.idxmax()
        raise MrnaProbeError(
            f"{path}: row {row + 1}: target column {raw.name!r} value {raw[row]!r} "
            "is not a finite number"
        )
    if task != "regression" and (outside := values.notna() & ~values.isin((0, 1))).any():
        row = outside.idxmax()
        raise MrnaProbeError(
            f"{path}: row {row + 1}: {task} target column {raw.name!r} value {values[row]:g} "
            "is not 0 or 1"
        )
    distinct = values.dropna().unique()
    if len(distinct) == 0:
        raise MrnaProbeError(f"{path}: target column {raw.name!r} has no values")
    if len(distinct) == 1:
        raise MrnaProbeError(
            f"{path}: target column {raw.name!r} has the single value {distinct[0]:g} "
            "in every row; nothing to probe"
        )
    return values


def target_frame(dataset: pd.DataFrame, target: str, spec: dict):
    """Rows with a measured target, and its values: (row index array, (n,) or (n, L) array)."""
    if is_label_array(spec):  # expanded by the data stage into `{target}:{label}` columns
        columns = [c for c in dataset.columns if c.startswith(f"{target}:")]
        if not columns:
            raise MrnaProbeError(f"dataset has no label columns {target}:* for target {target!r}")
    else:
        columns = target_columns({target: spec})[target]
    values = dataset[columns].to_numpy(dtype=np.float64)
    present = ~np.isnan(values).any(axis=1)
    if spec["task"] != "multilabel":
        values = values[:, 0]
    return np.flatnonzero(present), values[present]


def resolve_source(source: dict, mirror: str | None, cache: str) -> str:
    """Where a source's file is read from: the mirror (`NAME`, else a gzip copy `NAME.gz`),
    a local path, or the download cache."""
    name = source_file_name(source)
    for copy in (name, f"{name}.gz") if mirror else ():
        if (Path(mirror) / copy).exists():
            return str(Path(mirror) / copy)
    if source.get("path") and Path(source["path"]).exists():
        return source["path"]
    if source.get("url"):
        return str(Path(cache) / name)
    raise MrnaProbeError(
        f"source {name!r}: not in the mirror {mirror!r}, no local path and no url to download"
    )


def download(url: str, path, sha256: str | None) -> None:
    """Fetch `url` to `path` atomically: a temporary file renamed only once its sha256 matches."""
    import tempfile
    import urllib.request

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    partial = Path(partial)
    try:
        with (
            os.fdopen(descriptor, "wb") as handle,
            urllib.request.urlopen(url, timeout=60) as response,
        ):
            while block := response.read(1 << 20):
                handle.write(block)
        if sha256 and (actual := sha256sum(partial)) != sha256:
            raise MrnaProbeError(
                f"{url}: downloaded sha256 {actual} does not match the catalog's {sha256}"
            )
        partial.chmod(0o644)  # mkstemp's 0600 would hide a shared cache from the group
        partial.rename(path)
        log.info("%s: %d bytes to %s, sha256 %s", url, path.stat().st_size, path,
                 "checked" if sha256 else "not given")  # fmt: skip
    except OSError as err:  # URLError, HTTPError, timeouts
        raise MrnaProbeError(f"{url}: download failed ({err})") from err
    finally:
        partial.unlink(missing_ok=True)
