"""Embed stage: baselines without weights, and the engine that runs any adapter fast.

Baselines: `naive_baseline` (mRNABench's k-mer counts + GC) and `composition_baseline`
(length, GC, nucleotide and dinucleotide frequencies).

Engine (`embed_sequences`, `embed_shard`, `merge_shards`): the sequences are put in the
model's alphabet, tokenised once (a verified fast path where the vocabulary allows), cut into
chunks of the model's context, sorted by length and packed into batches of at most
`token_budget` padded tokens. Each chunk's hidden states are summed over its own tokens
(the special tokens framing the chunk are left out); a sequence's embedding is the sum over
its chunks divided by its number of tokens, i.e. the mean over all tokens of all chunks.
bf16 on GPU (autocast, or weights cast once by the adapter: `cast_weights`, the fused
ESM forward), fp32 on CPU; a batch without padding goes without an attention mask (SDPA
may then use its flash kernel); a CUDA (or CPU) out-of-memory halves the budget and
retries. Shards are contiguous runs of the same global batch plan, and every path reduces
per-chunk sums in chunk order, so a sharded run gives the same bytes as an unsharded one.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from sklearn.preprocessing import StandardScaler

from mrnaprobe import MrnaProbeError

log = logging.getLogger(__name__)

NUCLEOTIDE_CODE = np.full(256, -1, dtype=np.int8)
NUCLEOTIDE_CODE[[ord(c) for c in "ACGT"]] = [0, 1, 2, 3]


# --------------------------------------------------------------------------- baselines


def encode(sequences) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated 0-3 codes (-1 for N and between sequences) and the sequence of each position."""
    joined = "|".join(sequences).encode("ascii")
    codes = NUCLEOTIDE_CODE[np.frombuffer(joined, dtype=np.uint8)]
    owner = np.cumsum(np.frombuffer(joined, dtype=np.uint8) == ord("|"))
    return codes, owner


def kmer_counts(sequences, ks) -> np.ndarray:
    """Overlapping k-mer counts over ACGT (k-mers with N skipped), one block of 4**k per k."""
    codes, owner = encode(sequences)
    blocks, offset = [], 0
    rows, cols = [], []
    for k in ks:
        if len(codes) >= k:
            windows = np.lib.stride_tricks.sliding_window_view(codes, k)
            valid = (windows >= 0).all(axis=1)
            kmer = windows[valid].astype(np.int64) @ (4 ** np.arange(k - 1, -1, -1))
            rows.append(owner[: len(windows)][valid])
            cols.append(kmer + offset)
        offset += 4**k
        blocks.append(4**k)
    if not rows:
        return np.zeros((len(sequences), offset), dtype=np.float32)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    shape = (len(sequences), offset)
    return coo_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape).toarray()


def gc_fraction(sequences) -> np.ndarray:
    """G+C over A+C+G+T per sequence; 0 for a sequence with no called base (all N)."""
    codes, owner = encode(sequences)
    called = np.bincount(owner[codes >= 0], minlength=len(sequences))
    gc = np.bincount(owner[(codes == 1) | (codes == 2)], minlength=len(sequences))
    return np.divide(gc, called, out=np.zeros(len(sequences)), where=called > 0)


def naive_baseline(sequences, ks=range(3, 8), extra=None) -> np.ndarray:
    """mRNABench's naive baseline: k-mer counts + GC fraction (+ `extra` columns: the 6-track
    version's CDS length and exon count), all-zero columns dropped, scaled."""
    columns = [kmer_counts(sequences, ks), gc_fraction(sequences)]
    features = np.column_stack(columns if extra is None else [*columns, extra])
    features = features[:, features.any(axis=0)]
    return StandardScaler().fit_transform(features).astype(np.float32)


COMPOSITION_COLUMNS = (
    ["length", "log_length", "gc", "A", "C", "G", "T", "N"]
    + [a + b for a in "ACGT" for b in "ACGT"]
)  # fmt: skip


def composition_features(sequences) -> np.ndarray:
    """Unscaled composition (COMPOSITION_COLUMNS): length, log length, GC fraction, A/C/G/T
    frequencies over called bases, N fraction, and the 16 dinucleotide frequencies over
    adjacent called pairs. A sequence with nothing called gets zeros."""
    codes, owner = encode(sequences)
    n = len(sequences)
    length = np.array([len(s) for s in sequences], dtype=np.float64)
    mono = np.zeros((n, 4))
    for code in range(4):
        mono[:, code] = np.bincount(owner[codes == code], minlength=n)
    called = mono.sum(axis=1, keepdims=True)
    freq = np.divide(mono, called, out=np.zeros_like(mono), where=called > 0)
    pair_ok = (codes[:-1] >= 0) & (codes[1:] >= 0)
    pair = codes[:-1][pair_ok].astype(np.int64) * 4 + codes[1:][pair_ok]
    di = coo_matrix((np.ones(len(pair)), (owner[:-1][pair_ok], pair)), shape=(n, 16)).toarray()
    pairs = di.sum(axis=1, keepdims=True)
    di = np.divide(di, pairs, out=np.zeros_like(di), where=pairs > 0)
    n_frac = np.divide(length - called[:, 0], length, out=np.zeros(n), where=length > 0)
    gc = freq[:, 1] + freq[:, 2]
    return np.column_stack([length, np.log1p(length), gc, freq, n_frac, di])


def composition_baseline(sequences) -> np.ndarray:
    """Composition features standard-scaled over the dataset (constant columns become 0)."""
    return StandardScaler().fit_transform(composition_features(sequences)).astype(np.float32)


# --------------------------------------------------------------------------- random init


def build_random_encoder(path, spec: dict) -> None:
    """Save a random-initialised ESM-style encoder and nucleotide tokenizer (save_pretrained)."""
    import tempfile

    import torch
    from transformers import EsmConfig, EsmModel, EsmTokenizer

    tokens = ["<cls>", "<pad>", "<eos>", "<unk>", "A", "C", "G", "T", "N", "<mask>"]
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as vocab:
        vocab.write("\n".join(tokens))
        vocab.flush()
        tokenizer = EsmTokenizer(vocab.name, model_max_length=spec["max_tokens"])
    config = EsmConfig(
        vocab_size=len(tokens),
        hidden_size=spec["hidden_size"],
        num_hidden_layers=spec["layers"],
        num_attention_heads=spec["heads"],
        intermediate_size=4 * spec["hidden_size"],
        max_position_embeddings=spec["max_tokens"] + 2,
        position_embedding_type="rotary",
        pad_token_id=tokenizer.pad_token_id,
        mask_token_id=tokenizer.mask_token_id,
    )
    torch.manual_seed(spec.get("init_seed", 0))
    EsmModel(config, add_pooling_layer=False).save_pretrained(path)
    tokenizer.save_pretrained(path)


# --------------------------------------------------------------------------- tokenising


def to_alphabet(sequences, alphabet: str) -> list[str]:
    """DNA models read T; RNA models read U (the dataset contract is A/C/G/T/N)."""
    if alphabet == "rna":
        table = str.maketrans("T", "U")
        return [s.translate(table) for s in sequences]
    return list(sequences)


def _verification_sample(sequences, width: int = 600) -> list[str]:
    """Windows of the data that a fast tokenizer must reproduce exactly: evenly spaced
    sequences, a window around the first occurrence of every character, and one string
    holding every character next to every other."""
    n = len(sequences)
    sample = [sequences[i][:width] for i in np.linspace(0, n - 1, min(n, 24)).astype(int)]
    alphabet = sorted(set().union(*map(set, sequences)))
    for char in alphabet:
        for s in sequences:
            at = s.find(char)
            if at >= 0:
                sample.append(s[max(0, at - width // 2) : at + width // 2])
                break
    mixed = "".join(a + b for a in alphabet for b in alphabet)
    return [s for s in [*sample, mixed, mixed * 7] if s]


def _char_table(tokenizer, alphabet) -> np.ndarray | None:
    """Byte -> token id when the tokenizer maps each character to one token on its own."""
    table = np.full(256, -1, dtype=np.int64)
    for char in alphabet:
        ids = tokenizer(char, add_special_tokens=False, verbose=False)["input_ids"]
        if len(ids) != 1:
            return None
        table[ord(char)] = ids[0]
    return table


class _TableTokenizer:
    """Single-nucleotide vocabularies: one numpy lookup over all sequences."""

    name = "lookup table"

    def __init__(self, table):
        self.table = table

    def __call__(self, sequences) -> list[np.ndarray]:
        lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
        ids = self.table[np.frombuffer("".join(sequences).encode("ascii"), dtype=np.uint8)]
        if (ids < 0).any():
            raise ValueError("a character outside the verified alphabet")
        return np.split(ids, np.cumsum(lengths)[:-1])


class _KmerTokenizer:
    """Base of the k-mer vocabularies: letter codes, k-mer index weights, one call per sequence."""

    def __init__(self, k, kmer_ids, letters):
        self.k, self.kmer_ids = k, kmer_ids
        self.code = np.full(256, -1, dtype=np.int64)
        self.code[[ord(c) for c in letters]] = np.arange(len(letters))
        self.powers = len(letters) ** np.arange(k - 1, -1, -1)

    def __call__(self, sequences) -> list[np.ndarray]:
        return [self.encode_one(s) for s in sequences]


class _GreedyKmerTokenizer(_KmerTokenizer):
    """NT-style vocabularies: non-overlapping k-mers left to right within runs of the
    k-mer alphabet, single characters for the remainder of a run and anything else."""

    name = "greedy k-mers"

    def __init__(self, k, kmer_ids, letters, single):
        super().__init__(k, kmer_ids, letters)
        self.single = single

    def encode_one(self, sequence: str) -> np.ndarray:
        raw = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)
        codes = self.code[raw]
        inside = codes >= 0
        edges = np.flatnonzero(np.diff(np.concatenate([[False], inside, [False]]).astype(np.int8)))
        out, at = [], 0
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            out.append(self.single[raw[at:start]])
            full = start + (stop - start) // self.k * self.k
            if full > start:
                kmers = codes[start:full].reshape(-1, self.k) @ self.powers
                out.append(self.kmer_ids[kmers])
            out.append(self.single[raw[full:stop]])
            at = stop
        out.append(self.single[raw[at:]])
        return np.concatenate(out)


class _OverlappingKmerTokenizer(_KmerTokenizer):
    """3UTRBERT-style vocabularies: one token per overlapping k-mer window."""

    name = "overlapping k-mers"

    def __init__(self, k, kmer_ids, letters, unknown):
        super().__init__(k, kmer_ids, letters)
        self.unknown = unknown

    def encode_one(self, sequence: str) -> np.ndarray:
        codes = self.code[np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)]
        if len(codes) < self.k:
            return np.full(max(len(codes) - self.k + 1, 0), self.unknown, dtype=np.int64)
        windows = np.lib.stride_tricks.sliding_window_view(codes, self.k)
        ok = (windows >= 0).all(axis=1)
        kmers = self.kmer_ids[np.where(ok[:, None], windows, 0) @ self.powers]
        return np.where(ok, kmers, self.unknown)


class _BatchTokenizer:
    """Anything else (BPE, codons, ...): the tokenizer itself, called on lists."""

    name = "tokenizer (batched)"

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, sequences) -> list[np.ndarray]:
        out = []
        for start in range(0, len(sequences), 1024):
            batch = list(sequences[start : start + 1024])
            ids = self.tokenizer(batch, add_special_tokens=False, verbose=False)["input_ids"]
            out.extend(np.asarray(i, dtype=np.int64) for i in ids)
        return out


def _kmer_vocab(tokenizer, letters) -> tuple[int, np.ndarray] | None:
    """The longest k > 1 for which the vocabulary holds every k-mer over `letters`."""
    vocab = tokenizer.get_vocab()
    lengths = {len(t) for t in vocab if len(t) > 1 and set(t) <= set(letters)}
    for k in sorted(lengths, reverse=True):
        if k > 8:
            continue
        kmers = ["".join(p) for p in itertools.product(letters, repeat=k)]
        if all(kmer in vocab for kmer in kmers):
            return k, np.array([vocab[kmer] for kmer in kmers], dtype=np.int64)
    return None


def fast_tokenizer(tokenizer, sequences):
    """The fastest tokenising function that reproduces `tokenizer` (without special tokens)
    exactly on a sample of `sequences`: a lookup table, greedy or overlapping k-mers, else
    the tokenizer called on lists. Returns a callable: list of str -> list of id arrays."""
    sample = _verification_sample(sequences)
    alphabet = sorted(set().union(*map(set, sample)))
    expected = [tokenizer(s, add_special_tokens=False, verbose=False)["input_ids"] for s in sample]
    candidates = []
    table = _char_table(tokenizer, alphabet)
    if table is not None:
        candidates.append(_TableTokenizer(table))
    letters = "ACGU" if "U" in alphabet and "T" not in alphabet else "ACGT"
    found = None
    if "N" in alphabet:  # vocabularies with every k-mer over ACGU+N (3UTRBERT in multimolecule)
        found = _kmer_vocab(tokenizer, letters + "N")
        letters = letters + "N" if found is not None else letters
    found = found or _kmer_vocab(tokenizer, letters)
    if found is not None:
        k, kmer_ids = found
        if table is not None:
            candidates.append(_GreedyKmerTokenizer(k, kmer_ids, letters, table))
        unknown = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else -1
        candidates.append(_OverlappingKmerTokenizer(k, kmer_ids, letters, unknown))
    for candidate in candidates:
        try:
            got = candidate(sample)
        except (IndexError, ValueError):
            continue
        if all(list(g) == list(e) for g, e in zip(got, expected, strict=True)):
            log.info("tokenising with a %s (verified on %d windows)", candidate.name, len(sample))
            return candidate
    log.info("tokenising with the tokenizer itself (%s)", type(tokenizer).__name__)
    return _BatchTokenizer(tokenizer)


# --------------------------------------------------------------------------- chunks, batches


@dataclass
class Chunks:
    """All chunks of all sequences, concatenated: chunk i is
    tokens[starts[i] : starts[i] + lengths[i]] and belongs to sequence owners[i]
    (non-decreasing); its first `head[i]` and last `tail[i]` positions are left out of the
    pool (the special tokens, unless they are pooled; all but the first for `cls_mean`)."""

    tokens: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    owners: np.ndarray
    head: np.ndarray
    tail: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)

    def ids(self, index: int) -> list[int]:
        return self.tokens[self.starts[index] : self.starts[index] + self.lengths[index]].tolist()

    @property
    def body(self) -> np.ndarray:
        """Pooled positions of each chunk."""
        return self.lengths - self.head - self.tail


#: How special tokens frame a sequence's chunks (catalog field `framing`):
#: per_chunk: every chunk gets the whole frame (its body is max_tokens minus the frame);
#: per_sequence: the sequence is framed once and the framed token list is cut every
#: max_tokens (None: one chunk, the whole sequence); ends: bodies as per_chunk, the first
#: chunk keeps the prefix, the last the suffix, a one-chunk sequence the prefix only.
FRAMINGS = ("per_chunk", "per_sequence", "ends")


def _chunk_layout(n_tokens, n_pre, n_suf, max_tokens, framing, overlap_last):
    """Per chunk: owner and the [start, stop) ranges it takes from the prefix, the sequence's
    tokens and the suffix."""
    if framing == "per_sequence":
        framed = n_pre + n_tokens + n_suf
        width = framed if max_tokens is None else np.full_like(framed, max_tokens)
        n_chunks = np.maximum(1, -(-framed // np.maximum(width, 1)))
        owners = np.repeat(np.arange(len(n_tokens)), n_chunks)
        part = np.arange(len(owners)) - (np.cumsum(n_chunks) - n_chunks)[owners]
        lo, hi = part * width[owners], np.minimum((part + 1) * width[owners], framed[owners])
        n, p = n_tokens[owners], n_pre
        pre = np.clip(lo, 0, p), np.clip(hi, 0, p)
        body = np.clip(lo - p, 0, n), np.clip(hi - p, 0, n)
        suf = np.clip(lo - p - n, 0, n_suf), np.clip(hi - p - n, 0, n_suf)
        return owners, pre, body, suf
    room = max_tokens - n_pre - n_suf
    if room < 1:
        raise MrnaProbeError(f"max_tokens {max_tokens} leaves no room beside special tokens")
    n_chunks = np.maximum(1, -(-n_tokens // room))
    owners = np.repeat(np.arange(len(n_tokens)), n_chunks)
    part = np.arange(len(owners)) - (np.cumsum(n_chunks) - n_chunks)[owners]
    n, last = n_tokens[owners], part == n_chunks[owners] - 1
    lo, hi = part * room, np.minimum((part + 1) * room, n)
    if overlap_last:  # the last chunk of a multi-chunk sequence filled to `room` from behind
        lo = np.where(last & (part > 0), np.maximum(n - room, 0), lo)
    zero, full_pre, full_suf = np.zeros_like(lo), np.full_like(lo, n_pre), np.full_like(lo, n_suf)
    if framing == "ends":
        full_pre = np.where(part == 0, n_pre, 0)
        full_suf = np.where(last & (part > 0), n_suf, 0)
    return owners, (zero, full_pre), (lo, hi), (zero, full_suf)


def chunk_tokens(token_ids, prefix, suffix, max_tokens: int | None, framing="per_chunk",
                 overlap_last=False, pool_specials=False, pooling="mean") -> Chunks:  # fmt: skip
    """Cut each sequence's tokens into chunks of at most `max_tokens` (special tokens
    included) framed as `framing` says (FRAMINGS); `overlap_last`: a sequence's last chunk
    reaches back into the one before to fill the context (mRNABench's SpliceBERT-510).
    Pooled positions: the sequence's own tokens, plus the special tokens with
    `pool_specials`; `pooling: cls_mean` pools each chunk's first position only. An empty
    sequence still gets one chunk."""
    if framing not in FRAMINGS:
        raise MrnaProbeError(f"framing {framing!r} is not one of {', '.join(FRAMINGS)}")
    if max_tokens is None and framing != "per_sequence":
        raise MrnaProbeError("max_tokens: null (no chunking) needs framing: per_sequence")
    prefix = np.asarray(prefix, dtype=np.int64)
    suffix = np.asarray(suffix, dtype=np.int64)
    n_tokens = np.fromiter(map(len, token_ids), dtype=np.int64, count=len(token_ids))
    owners, pre, body, suf = _chunk_layout(n_tokens, len(prefix), len(suffix), max_tokens,
                                           framing, overlap_last)  # fmt: skip
    n_pre, n_body, n_suf = pre[1] - pre[0], body[1] - body[0], suf[1] - suf[0]
    lengths = n_pre + n_body + n_suf
    starts = np.cumsum(lengths) - lengths
    tokens = np.empty(int(lengths.sum()), dtype=np.int64)
    flat = np.concatenate([np.asarray(t, dtype=np.int64) for t in token_ids] or [np.empty(0)])
    seq_start = np.cumsum(n_tokens) - n_tokens
    which = np.repeat(np.arange(len(owners)), n_body)
    within = np.arange(len(which)) - np.repeat(np.cumsum(n_body) - n_body, n_body)
    tokens[starts[which] + n_pre[which] + within] = flat[
        seq_start[owners[which]] + body[0][which] + within
    ]
    for offset, token in enumerate(prefix):
        at = (pre[0] <= offset) & (offset < pre[1])
        tokens[starts[at] + offset - pre[0][at]] = token
    for offset, token in enumerate(suffix):
        at = (suf[0] <= offset) & (offset < suf[1])
        tokens[starts[at] + n_pre[at] + n_body[at] + offset - suf[0][at]] = token
    head, tail = (0 * lengths, 0 * lengths) if pool_specials else (n_pre, n_suf)
    if pooling == "cls_mean":
        head, tail = np.zeros_like(lengths), np.maximum(lengths - 1, 0)
    elif pooling != "mean":
        raise MrnaProbeError(f"pooling {pooling!r} is not one of mean, cls_mean")
    return Chunks(tokens, starts, lengths, owners, head, tail)


def token_chunks(tokenizer, sequences, max_tokens: int | None, **options) -> Chunks:
    """Chunks of `sequences` as the tokenizer frames them (`chunk_tokens` options)."""
    from mrnaprobe.models import special_frame

    prefix, suffix = special_frame(tokenizer)
    ids = fast_tokenizer(tokenizer, sequences)(sequences)
    return chunk_tokens(ids, prefix, suffix, max_tokens, **options)


def pack_batches(lengths: np.ndarray, token_budget: int, equal_lengths=False) -> list[np.ndarray]:
    """Chunk indices, longest first, packed so each padded batch holds <= token_budget tokens
    (one chunk per batch when a chunk alone is over it). With `equal_lengths`, a batch only
    holds chunks of one length (for models whose output depends on padding)."""
    lengths = np.asarray(lengths)
    order = np.argsort(-lengths, kind="stable")
    batches, start = [], 0
    while start < len(order):
        longest = lengths[order[start]]
        size = max(1, token_budget // max(int(longest), 1))
        stop = min(start + size, len(order))
        if equal_lengths:
            stop = start + int(np.searchsorted(-lengths[order[start:stop]], -longest, "right"))
        batches.append(order[start:stop])
        start = stop
    return batches


def split_shards(batches, lengths, shards: int) -> list[list[np.ndarray]]:
    """Contiguous runs of the batch plan with about equal padded tokens each."""
    cost = np.array([len(b) * lengths[b].max() for b in batches], dtype=np.float64)
    before = np.cumsum(cost) - cost
    total = max(cost.sum(), 1.0)
    owner = np.minimum((before * shards / total).astype(int), shards - 1)
    return [[b for b, o in zip(batches, owner, strict=True) if o == s] for s in range(shards)]


def reduce_chunks(owners, sums, counts, n_sequences: int) -> np.ndarray:
    """Per-sequence mean from per-chunk token sums, summed in chunk order (float64)."""
    if len(owners) == 0:
        return np.zeros((n_sequences, sums.shape[1] if sums.ndim == 2 else 0), np.float32)
    starts = np.flatnonzero(np.diff(np.concatenate([[-1], owners])))
    totals = np.add.reduceat(sums.astype(np.float64), starts, axis=0)
    tokens = np.add.reduceat(counts.astype(np.float64), starts)
    if len(starts) != n_sequences:
        raise MrnaProbeError(f"chunks cover {len(starts)} of {n_sequences} sequences")
    return (totals / np.maximum(tokens, 1)[:, None]).astype(np.float32)


# --------------------------------------------------------------------------- engine


class _LogStream:
    """File-like object for tqdm that writes each progress update as a log line."""

    def write(self, text: str) -> None:
        text = text.strip("\r\n ")
        if text:
            log.info(text)

    def flush(self) -> None:
        pass


def _is_oom(err: BaseException) -> bool:
    import torch

    text = str(err).lower()
    return isinstance(err, torch.OutOfMemoryError) or (
        isinstance(err, RuntimeError)
        and ("out of memory" in text or "can't allocate memory" in text)
    )


def token_budget(spec: dict, device) -> int:
    """Padded tokens per batch: `token_budget` on GPU; on CPU at most `cpu_token_budget`
    (small batches stay in cache, which is faster there)."""
    if str(device).startswith("cuda"):
        return spec["token_budget"]
    return min(spec["token_budget"], spec.get("cpu_token_budget", 2048))


@dataclass
class Plan:
    """Tokenised chunks and the global batch plan (identical in every shard job)."""

    chunks: Chunks
    batches: list[np.ndarray]
    n_sequences: int


def plan_embedding(adapter, sequences, spec: dict, tracks=None) -> Plan:
    """Alphabet, tokens, chunks and batches for one dataset (`tracks`: name -> per-sequence
    0/1 arrays, for adapters that read them, e.g. Orthrus 6-track)."""
    sequences = to_alphabet(sequences, spec.get("alphabet", "dna"))
    started = time.perf_counter()
    token_ids = adapter.tokenize(sequences, *([] if tracks is None else [tracks]))
    chunks = chunk_tokens(
        token_ids, adapter.prefix, adapter.suffix, spec["max_tokens"],
        framing=spec.get("framing", "per_chunk"),
        overlap_last=spec.get("overlap_last_chunk", False),
        pool_specials=spec.get("pool_specials", False), pooling=spec.get("pooling", "mean"),
    )  # fmt: skip
    budget = token_budget(spec, adapter.device)
    batches = pack_batches(chunks.lengths, budget, not adapter.exact_padding)
    log.info(
        "%d sequences -> %d tokens in %d chunks (%d batches), tokenised in %.1f s",
        len(sequences), int(chunks.body.sum()), len(chunks), len(batches),
        time.perf_counter() - started,
    )  # fmt: skip
    return Plan(chunks, batches, len(sequences))


def run_batches(adapter, chunks: Chunks, batches, spec: dict, progress=True, workers=1):
    """Token sums of the chunks in `batches`: (chunk indices ascending, float32 sums).

    The hidden states are summed over each chunk's own tokens on the device (fp32); with
    CUDA the next batch is queued before the previous result is copied back. On CPU,
    `workers` threads each take every workers-th batch (run `_setup` first so that torch
    itself uses one thread): small batches scale better so than on torch's threads, and a
    batch's sums do not depend on the number of workers. Only the fused forward runs in
    threads: a model's own code may keep state between calls (NT v2's and ESM's rotary
    tables are cached per length), so other models run one batch at a time on `workers`
    torch threads."""
    from concurrent.futures import ThreadPoolExecutor

    import torch
    from tqdm import tqdm

    selected = np.sort(np.concatenate(batches)) if batches else np.empty(0, np.int64)
    bar = tqdm(
        total=int(chunks.body[selected].sum()), unit="tok", unit_scale=True, ascii=True,
        mininterval=30, file=_LogStream(), disable=not progress, desc="embed",
    )  # fmt: skip
    cuda = str(adapter.device).startswith("cuda")
    workers = 1 if cuda else max(1, min(workers, len(batches)))
    if workers > 1 and adapter.fused is None:
        torch.set_num_threads(workers)
        workers = 1
    queues = [list(batches[start::workers]) for start in range(workers)]

    def run(queue):
        return _run_queue(adapter, chunks, queue, spec, bar)

    if workers == 1:
        done = run(queues[0])
    else:
        with ThreadPoolExecutor(workers) as pool:
            done = [item for part in pool.map(run, queues) for item in part]
    bar.close()
    if not done:
        return selected, np.zeros((0, max(adapter.hidden_size, 0)), dtype=np.float32)
    row = np.full(len(chunks), -1, dtype=np.int64)
    row[selected] = np.arange(len(selected))
    sums = np.zeros((len(selected), done[0][1].shape[1]), dtype=np.float32)
    for batch, pooled in done:
        sums[row[batch]] = pooled
    return selected, sums


def _run_queue(adapter, chunks: Chunks, queue: list, spec: dict, bar) -> list:
    """(batch, pooled sums) for each batch of `queue`, in one thread. An out-of-memory
    error halves the token budget and re-packs the chunks left in this queue."""
    import torch

    from mrnaprobe.models import compute_dtype

    cuda = str(adapter.device).startswith("cuda")
    dtype = compute_dtype(spec, adapter.device)
    mixed = dtype != torch.float32 and adapter.autocast  # fp32 on CPU: never mixed
    budget = token_budget(spec, adapter.device)
    done, pending = [], None

    def collect(batch, pooled):
        done.append((batch, pooled.cpu().numpy()))
        bar.update(int(chunks.body[batch].sum()))

    with torch.inference_mode(), torch.autocast("cuda", dtype=dtype, enabled=mixed):
        while queue:
            batch = queue.pop(0)
            failed = None
            try:
                pooled = _forward_pooled(adapter, chunks, batch, cuda)
            except (RuntimeError, torch.OutOfMemoryError) as err:
                if not _is_oom(err):
                    raise
                failed = str(err).splitlines()[0]  # the traceback (and its tensors) goes
            if failed is not None:
                if len(batch) == 1:
                    raise MrnaProbeError(
                        f"out of memory on a single chunk of {chunks.lengths[batch[0]]} tokens "
                        f"({failed}); lower max_tokens or use a bigger device"
                    )
                if cuda:
                    torch.cuda.empty_cache()
                budget = max(1, budget // 2)
                rest = np.concatenate([batch, *queue])
                queue = [rest[b] for b in pack_batches(chunks.lengths[rest], budget,
                                                        not adapter.exact_padding)]  # fmt: skip
                log.warning("out of memory: token budget halved to %d, retrying", budget)
                continue
            if pending is not None:
                collect(*pending)
            pending = (batch, pooled)
        if pending is not None:
            collect(*pending)
    return done


def _forward_pooled(adapter, chunks: Chunks, batch, cuda: bool):
    """One padded batch through the model; per-chunk fp32 sums over the chunk's own tokens."""
    import torch

    lengths = chunks.lengths[batch]
    width = int(lengths.max())
    position = np.arange(width)
    valid = position < lengths[:, None]
    index = chunks.starts[batch][:, None] + np.minimum(position, lengths[:, None] - 1)
    ids = np.where(valid, chunks.tokens[index], adapter.pad_id)
    head, tail = chunks.head[batch][:, None], chunks.tail[batch][:, None]
    keep = valid & (position >= head) & (position < lengths[:, None] - tail)
    ids = torch.from_numpy(ids)
    mask = None if valid.all() else torch.from_numpy(valid.astype(np.int64))
    keep = torch.from_numpy(keep.astype(np.float32))
    if cuda:
        ids, mask, keep = (
            t if t is None else t.pin_memory().to(adapter.device, non_blocking=True)
            for t in (ids, mask, keep)
        )
    hidden = adapter.forward(ids, mask)
    with torch.autocast("cuda", enabled=False):
        return torch.einsum("bw,bwh->bh", keep, hidden[:, :width].float())


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _setup(threads: int, device: str) -> int:
    """Quiet transformers; torch threads; returns the batch workers for `run_batches`
    (on CPU, `threads` workers of one torch thread each)."""
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    cpu = device == "cpu"
    torch.set_num_threads(1 if cpu else max(1, threads))
    return max(1, threads) if cpu else 1


def _info(adapter, plan: Plan, seconds: float, device: str) -> dict:
    tokens = int(plan.chunks.body.sum())
    return {
        "revision": adapter.revision,
        "params": int(adapter.n_params),
        "device": device,
        "forward": "fused-esm" if adapter.fused is not None else "model",
        "sequences": plan.n_sequences,
        "chunks": len(plan.chunks),
        "tokens": tokens,
        "batches": len(plan.batches),
        "seconds": round(seconds, 3),
        "seq_per_s": round(plan.n_sequences / max(seconds, 1e-9), 2),
        "tokens_per_s": round(tokens / max(seconds, 1e-9), 1),
    }


def embed_sequences(sequences, spec: dict, source, cache_dir=None, threads: int = 1,
                    progress: bool = True, tracks=None) -> tuple[np.ndarray, dict]:  # fmt: skip
    """Embeddings (float32, one row per sequence, dataset order) and a provenance dict."""
    from mrnaprobe.models import load_adapter

    device = _device()
    workers = _setup(threads, device)
    adapter = load_adapter(spec, source, cache_dir, device)
    plan = plan_embedding(adapter, sequences, spec, tracks)
    started = time.perf_counter()
    selected, sums = run_batches(adapter, plan.chunks, plan.batches, spec, progress, workers)
    embeddings = reduce_chunks(plan.chunks.owners[selected], sums,
                               plan.chunks.body[selected], plan.n_sequences)  # fmt: skip
    info = _info(adapter, plan, time.perf_counter() - started, device)
    log.info("embedded: %s", info)
    return embeddings, info


def embed_hf(sequences, spec: dict, model_path, cache_dir=None, threads: int = 1) -> np.ndarray:
    """Embeddings only (see `embed_sequences`)."""
    return embed_sequences(sequences, spec, model_path, cache_dir, threads, progress=False)[0]


def embed_shard(sequences, spec: dict, source, shard: int, shards: int, cache_dir=None,
                threads: int = 1, progress: bool = True, tracks=None) -> dict:  # fmt: skip
    """Per-chunk token sums of one shard of the global batch plan, as arrays for np.savez."""
    from mrnaprobe.models import load_adapter

    if not 0 <= shard < shards:
        raise MrnaProbeError(f"shard {shard} is not in 0..{shards - 1}")
    device = _device()
    workers = _setup(threads, device)
    adapter = load_adapter(spec, source, cache_dir, device)
    plan = plan_embedding(adapter, sequences, spec, tracks)
    mine = split_shards(plan.batches, plan.chunks.lengths, shards)[shard]
    log.info("shard %d of %d: %d of %d batches", shard + 1, shards, len(mine), len(plan.batches))
    started = time.perf_counter()
    selected, sums = run_batches(adapter, plan.chunks, mine, spec, progress, workers)
    info = _info(adapter, plan, time.perf_counter() - started, device)
    return {
        "chunk": selected,
        "owner": plan.chunks.owners[selected],
        "count": plan.chunks.body[selected],
        "sums": sums,
        "n_chunks": np.int64(len(plan.chunks)),
        "n_sequences": np.int64(plan.n_sequences),
        "info": np.array(json.dumps(info)),
    }


def merge_shards(parts) -> tuple[np.ndarray, dict]:
    """Embeddings from all shards' per-chunk sums (the same bytes as an unsharded run), and
    the run info of `embed_sequences` with the device seconds of all shards together."""
    parts = list(parts)
    if not parts:
        raise MrnaProbeError("no shards to merge")
    n_chunks, n_sequences = int(parts[0]["n_chunks"]), int(parts[0]["n_sequences"])
    if any((int(p["n_chunks"]), int(p["n_sequences"])) != (n_chunks, n_sequences) for p in parts):
        raise MrnaProbeError("shards come from different batch plans (dataset or model changed)")
    chunk = np.concatenate([p["chunk"] for p in parts])
    if len(chunk) != n_chunks or not np.array_equal(np.sort(chunk), np.arange(n_chunks)):
        raise MrnaProbeError(f"shards hold {len(chunk)} chunks, expected each of {n_chunks} once")
    order = np.argsort(chunk)
    sums = np.concatenate([p["sums"] for p in parts if len(p["chunk"])])[order]
    owner = np.concatenate([p["owner"] for p in parts])[order]
    count = np.concatenate([p["count"] for p in parts])[order]
    runs = [json.loads(str(p["info"])) for p in parts]
    seconds = sum(run["seconds"] for run in runs)
    info = {**runs[0], "shards": len(parts), "seconds": round(seconds, 3),
            "shard_seconds": [run["seconds"] for run in runs],
            "seq_per_s": round(runs[0]["sequences"] / max(seconds, 1e-9), 2),
            "tokens_per_s": round(runs[0]["tokens"] / max(seconds, 1e-9), 1)}  # fmt: skip
    return reduce_chunks(owner, sums, count, n_sequences), info
