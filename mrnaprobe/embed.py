"""Embed stage: the k-mer baseline and Hugging Face encoders, mean-pooled per sequence."""

import logging

import numpy as np
from scipy.sparse import coo_matrix
from sklearn.preprocessing import StandardScaler

from mrnaprobe import MrnaProbeError

log = logging.getLogger(__name__)

NUCLEOTIDE_CODE = np.full(256, -1, dtype=np.int8)
NUCLEOTIDE_CODE[[ord(c) for c in "ACGT"]] = [0, 1, 2, 3]


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


def naive_baseline(sequences, ks=range(3, 8)) -> np.ndarray:
    """mRNABench's naive baseline: k-mer counts + GC fraction, all-zero columns dropped, scaled."""
    features = np.column_stack([kmer_counts(sequences, ks), gc_fraction(sequences)])
    features = features[:, features.any(axis=0)]
    return StandardScaler().fit_transform(features).astype(np.float32)


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


def token_chunks(tokenizer, sequences, max_tokens: int) -> tuple[list, np.ndarray]:
    """Each sequence's tokens cut to fit the context (special tokens added per chunk).

    Returns the chunks' token id lists and the sequence index of each chunk.
    """
    room = max_tokens - tokenizer.num_special_tokens_to_add()
    if room < 1:
        raise MrnaProbeError(f"max_tokens {max_tokens} leaves no room beside special tokens")
    chunks, owners = [], []
    for index, sequence in enumerate(sequences):
        ids = tokenizer(sequence, add_special_tokens=False, verbose=False)["input_ids"]
        for start in range(0, max(len(ids), 1), room):
            chunks.append(tokenizer.build_inputs_with_special_tokens(ids[start : start + room]))
            owners.append(index)
    return chunks, np.asarray(owners)


def pack_batches(lengths: np.ndarray, token_budget: int) -> list[np.ndarray]:
    """Chunk indices, longest first, packed so each padded batch holds <= token_budget tokens."""
    order = np.argsort(-lengths, kind="stable")
    batches, start = [], 0
    while start < len(order):
        longest = lengths[order[start]]
        size = max(1, token_budget // longest)
        batches.append(order[start : start + size])
        start += size
    return batches


def embed_hf(sequences, spec: dict, model_path: str, cache_dir=None, threads: int = 1):
    """Mean over all non-special tokens of all chunks of each sequence (transformers model)."""
    import torch
    from tqdm import tqdm
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.set_num_threads(threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    kwargs = {
        "revision": spec.get("revision"),
        "trust_remote_code": spec["trust_remote_code"],
        "cache_dir": cache_dir,
    }
    tokenizer = AutoTokenizer.from_pretrained(model_path, **kwargs)
    model = AutoModel.from_pretrained(model_path, **kwargs).to(device).eval()
    if spec.get("alphabet") == "rna":
        sequences = [s.replace("T", "U") for s in sequences]
    chunks, owners = token_chunks(tokenizer, sequences, spec["max_tokens"])
    lengths = np.array([len(c) for c in chunks])
    sums = np.zeros((len(sequences), model.config.hidden_size))
    counts = np.zeros(len(sequences))
    special = set(tokenizer.all_special_ids)
    batches = pack_batches(lengths, spec["token_budget"])
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda")
    with torch.inference_mode(), autocast:
        for batch in tqdm(batches, desc="embed", unit="batch", mininterval=5):
            width = lengths[batch].max()
            ids = np.full((len(batch), width), tokenizer.pad_token_id)
            for row, chunk in enumerate(batch):
                ids[row, : lengths[chunk]] = chunks[chunk]
            ids = torch.as_tensor(ids, device=device)
            attention = (ids != tokenizer.pad_token_id).long()
            hidden = model(input_ids=ids, attention_mask=attention).last_hidden_state.float()
            keep = attention.bool() & ~torch.isin(ids, torch.tensor(sorted(special), device=device))
            pooled = (hidden * keep.unsqueeze(-1)).sum(dim=1).cpu().numpy()
            np.add.at(sums, owners[batch], pooled)
            np.add.at(counts, owners[batch], keep.sum(dim=1).cpu().numpy())
    return (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
