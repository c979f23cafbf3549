"""MMseqs2 homology on planted families: mutated copies and reverse complements cluster."""

import numpy as np
import pandas as pd
import pytest

from mrnaprobe.homology import cluster_dataset

SETTINGS = {"min_seq_id": 0.8, "coverage": 0.8, "cov_mode": 0, "kmer": 13,
            "sensitivity": 5.7, "max_seqs": 1000}  # fmt: skip
COMPLEMENT = str.maketrans("ACGT", "TGCA")


def random_sequence(rng, length):
    return "".join(rng.choice(list("ACGT"), length))


def mutate(rng, sequence, rate):
    bases = np.array(list(sequence))
    sites = rng.random(len(bases)) < rate
    bases[sites] = [rng.choice([b for b in "ACGT" if b != old]) for old in bases[sites]]
    return "".join(bases)


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(1)
    family = random_sequence(rng, 600)
    short = random_sequence(rng, 50)
    rows = {
        "fam-0": family,
        "fam-90pct": mutate(rng, family, 0.1),
        "fam-revcomp": family.translate(COMPLEMENT)[::-1],
        "fam-revcomp-mut": mutate(rng, family, 0.05).translate(COMPLEMENT)[::-1],
        "short-0": short,
        "short-1snv": short[:25] + ("A" if short[25] != "A" else "C") + short[26:],
    }
    rows |= {f"unrelated-{i}": random_sequence(rng, 300) for i in range(6)}
    long = random_sequence(rng, 70_000)  # beyond MMseqs2's default --max-seq-len of 65,535
    rows |= {"long-0": long, "long-90pct": mutate(rng, long, 0.1)}
    dataset = pd.DataFrame({"id": list(rows), "sequence": list(rows.values())})
    clusters, hits, command = cluster_dataset(dataset, SETTINGS, threads=1)
    return clusters.set_index("id")["cluster"], hits, command


def test_mutated_copies_and_reverse_complements_join_their_family(planted):
    clusters, _, _ = planted
    family = {clusters[i] for i in ("fam-0", "fam-90pct", "fam-revcomp", "fam-revcomp-mut")}
    assert family == {"fam-0"}


def test_mrnas_longer_than_the_default_max_seq_len_cluster(planted):
    clusters, hits, _ = planted
    assert clusters["long-90pct"] == "long-0"
    assert hits[hits["query"] == "long-90pct"]["qcov"].max() > 0.95


def test_short_utrs_one_snv_apart_cluster(planted):
    clusters, _, _ = planted
    assert clusters["short-0"] == clusters["short-1snv"] == "short-0"


def test_unrelated_sequences_stay_singletons(planted):
    clusters, hits, _ = planted
    for i in range(6):
        assert clusters[f"unrelated-{i}"] == f"unrelated-{i}"
    assert not hits["query"].str.startswith("unrelated").any()


def test_hits_record_identity_and_the_command(planted):
    _, hits, command = planted
    assert (hits["fident"] >= 0.8).all() and (hits["query"] != hits["target"]).all()
    assert "--strand 2" in command and "--search-type 3" in command


@pytest.fixture(scope="module")
def constructs():
    """24 constructs: a constant 300-nt flank, a random 50-nt UTR, a constant 300-nt flank."""
    rng = np.random.default_rng(3)
    left, right = random_sequence(rng, 300), random_sequence(rng, 300)
    utrs = [random_sequence(rng, 50) for _ in range(24)]
    return pd.DataFrame({"id": [f"c{i}" for i in range(24)], "utr": utrs,
                         "sequence": [left + u + right for u in utrs]})  # fmt: skip


@pytest.mark.parametrize("region", [{"start": 300, "end": 350}, {"column": "utr"}])
def test_homology_region_sees_only_the_variable_part_of_constructs(constructs, region):
    whole, _, _ = cluster_dataset(constructs, SETTINGS)
    assert whole["cluster"].nunique() == 1  # the flanks make every construct one family
    clusters, hits, _ = cluster_dataset(constructs, SETTINGS, region=region)
    assert clusters["cluster"].nunique() == 24 and hits.empty


@pytest.mark.bad_input
def test_bad_input_homology_region_outside_the_sequences(constructs):
    from mrnaprobe import MrnaProbeError

    with pytest.raises(MrnaProbeError, match=r"row 1 \(id 'c0'\) has no sequence left; 24 of 24"):
        cluster_dataset(constructs, SETTINGS, region={"start": 700})
    with pytest.raises(MrnaProbeError, match="homology_region.column: 'cds' is not in"):
        cluster_dataset(constructs, SETTINGS, region={"column": "cds"})


@pytest.fixture(scope="module")
def start_contexts():
    """600 11-nt start contexts (GCC + 8 variable positions), 20 of them planted with a copy
    one substitution away and 10 with the reverse complement of a 2-substitution copy."""
    rng = np.random.default_rng(5)
    rows = {f"s{i}": "GCC" + random_sequence(rng, 8) for i in range(600)}
    for i in range(20):
        rows[f"s{i}-snv"] = rows[f"s{i}"][:-1] + ("A" if rows[f"s{i}"][-1] != "A" else "C")
    for i in range(20, 30):
        two = rows[f"s{i}"][:5] + "".join("A" if b != "A" else "T" for b in rows[f"s{i}"][5:7])
        rows[f"s{i}-rc2"] = (two + rows[f"s{i}"][7:]).translate(COMPLEMENT)[::-1]
    return pd.DataFrame({"id": list(rows), "sequence": list(rows.values())})


def test_short_sequences_mmseqs2_cannot_seed_are_searched_exactly(start_contexts):
    blind, _, _ = cluster_dataset(start_contexts, SETTINGS | {"exact_below": 0})
    assert blind["cluster"].nunique() == len(start_contexts)  # MMseqs2 alone: a silent zero
    clusters, hits, command = cluster_dataset(start_contexts, SETTINGS)
    assert "exact ungapped search" in command and "mmseqs" not in command
    pairs = set(zip(hits["query"], hits["target"], strict=True))
    for i in range(20):
        assert (f"s{i}", f"s{i}-snv") in pairs and (f"s{i}-snv", f"s{i}") in pairs
    for i in range(20, 30):
        assert (f"s{i}-rc2", f"s{i}") in pairs
    # every pair within 2 substitutions (>= 9/11 identity) is a hit, none below 0.8 identity
    forward = [s for s in start_contexts["sequence"]]
    codes = np.array([list(s) for s in forward])
    close = (codes[:, None] != codes[None]).sum(axis=2) <= 2
    np.fill_diagonal(close, False)
    ids = start_contexts["id"].to_numpy()
    assert {(ids[q], ids[t]) for q, t in zip(*np.nonzero(close), strict=True)} <= pairs
    assert hits["fident"].min() >= 0.8 and (hits[["qcov", "tcov"]] >= 0.8).all().all()


def test_audit_records_the_exact_search_and_finds_leaky_short_test_rows(start_contexts):
    from mrnaprobe.homology import search_methods
    from mrnaprobe.splits import audit, make_split

    _, hits, command = cluster_dataset(start_contexts, SETTINGS)
    split = make_split("random", start_contexts, None, [1, 2], {"fractions": [0.7, 0.15, 0.15]})
    report = audit(split, hits, SETTINGS, command)
    assert report["test_violations_max"] > 0
    methods = search_methods(start_contexts["sequence"].str.len(), SETTINGS)
    assert methods == {"exact_below": 40, "rows_exact": 630, "rows_mmseqs2": 0, "shortest": 11}


def test_mixed_lengths_short_rows_meet_their_long_partners():
    """A 45-nt row (searched by MMseqs2 among the long ones) that is a 1-nt extension of a
    36-nt row (searched exactly) is found by the exact search; pairs of long rows by MMseqs2."""
    rng = np.random.default_rng(8)
    short, long = random_sequence(rng, 36), random_sequence(rng, 300)
    rows = {"short": short, "short-ext": short + "ACGTACGTA", "long": long,
            "long-snv": mutate(rng, long, 0.03), "other": random_sequence(rng, 300)}  # fmt: skip
    dataset = pd.DataFrame({"id": list(rows), "sequence": list(rows.values())})
    clusters, hits, command = cluster_dataset(dataset, SETTINGS)
    clusters = clusters.set_index("id")["cluster"]
    assert clusters["short-ext"] == clusters["short"] and clusters["long-snv"] == "long"
    assert "mmseqs easy-search" in command and "exact" in command


@pytest.mark.bad_input
def test_bad_input_too_many_short_rows_or_another_cov_mode_stop_in_one_line(start_contexts):
    from mrnaprobe import MrnaProbeError

    with pytest.raises(
        MrnaProbeError,
        match=r"^starts: 630 sequences shorter than homology."
        r"exact_below 40 nt \(shortest 11 nt\) exceed homology.exact_max_rows 100",
    ):
        cluster_dataset(start_contexts, SETTINGS | {"exact_max_rows": 100}, name="starts")
    with pytest.raises(MrnaProbeError, match=r"shortest 11 nt\) need the exact search, which "):
        cluster_dataset(start_contexts, SETTINGS | {"cov_mode": 1}, name="starts")
