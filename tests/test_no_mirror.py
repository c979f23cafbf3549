"""The README's first command on a machine without the mirror: every default source is fetched
from its URL (here a local HTTP server with the same bytes), checked and built."""

import gzip
import http.server
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest
import yaml

from mrnaprobe.data import config_sources, source_file_name
from tests.conftest import MIRROR, ROOT

SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]


class Handler(http.server.BaseHTTPRequestHandler):
    """GET a URL path: the mirror file behind it (gunzipped where the URL names the raw file)."""

    def do_GET(self):
        if self.path not in self.server.files:
            self.send_error(404)
            return
        file, gunzip = self.server.files[self.path]
        data = gzip.decompress(file.read_bytes()) if gunzip else file.read_bytes()
        if self.path == self.server.tampered:
            data = data[:-2] + b"!\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def served_files(config: dict, mirror: Path) -> dict:
    """URL path -> (mirror file, gunzip?) for every source of the config."""
    files = {}
    for key, source in config_sources(config):
        name = source_file_name(source)
        plain = (mirror / name).exists()
        assert plain or (mirror / f"{name}.gz").exists(), f"{key}: {name} not in the mirror"
        files[urlsplit(source["url"]).path] = (
            mirror / (name if plain else f"{name}.gz"),
            not plain,
        )
    return files


@pytest.fixture(scope="module")
def server(mirror):
    """A server on 127.0.0.1 serving the default config's sources under their URL paths."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.files, httpd.tampered = served_files(config, mirror), None
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    thread.join()


def offline_config(tmp_path: Path, server) -> Path:
    """The default config with `mirror: null`, a fresh cache, and every URL on the server."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config.update(mirror=None, download_cache=str(tmp_path / "cache"))
    host = f"http://127.0.0.1:{server.server_address[1]}"
    for _, source in config_sources(config):  # anchors share dicts: the rewrite is idempotent
        source["url"] = host + urlsplit(source["url"]).path
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def data_targets(config: dict) -> list[str]:
    """The data stage's outputs: every dataset parquet and every gene-group map."""
    return [f"results/data/{name}.parquet" for name in config["datasets"]] + [
        f"results/data/gene_groups/{species}.csv" for species in config.get("gene_group_maps", {})
    ]


def data_stage(tmp_path: Path, server, targets):
    """Run these targets of the rewritten default config."""
    config = offline_config(tmp_path, server)
    command = [*SNAKEMAKE, "--directory", str(tmp_path / "work"), "--configfile", str(config),
               "--cores", "2", *targets]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_data_stage_downloads_verifies_and_builds_every_dataset(tmp_path, server):
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    done = data_stage(tmp_path, server, data_targets(config))
    assert done.returncode == 0, done.stderr[-3000:]
    cache = {p.name for p in (tmp_path / "cache").iterdir()}
    assert cache == {source_file_name(s) for _, s in config_sources(config)}
    results = tmp_path / "work" / "results" / "data"
    for name in config["datasets"]:
        assert len(pd.read_parquet(results / f"{name}.parquet"))
    for species in config["gene_group_maps"]:
        groups = pd.read_csv(results / "gene_groups" / f"{species}.csv")
        assert {"gene_name", "gene_group"} <= set(groups.columns) and len(groups) > 10000
    loc = pd.read_parquet(tmp_path / "work/results/data/loc-dm3loc.parquet")
    subset = pd.read_csv(MIRROR / "dm3loc_subset_seed0_len_le3000.csv")
    assert loc["id"].tolist() == subset["accession"].tolist()


@pytest.mark.bad_input
def test_bad_input_tampered_download_fails_in_one_line_and_caches_nothing(tmp_path, server):
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    source = config["datasets"]["mrl-hl-leppek"]["source"]
    server.tampered = urlsplit(source["url"]).path
    try:
        done = data_stage(tmp_path, server, ["results/data/mrl-hl-leppek.parquet"])
    finally:
        server.tampered = None
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("mrnaprobe: error:")]
    assert len(errors) == 1, done.stderr[-3000:]
    assert "downloaded sha256" in errors[0] and f"the catalog's {source['sha256']}" in errors[0]
    cache = tmp_path / "cache"
    assert not cache.exists() or list(cache.iterdir()) == []
    assert not (tmp_path / "work/results/data/mrl-hl-leppek.parquet").exists()
