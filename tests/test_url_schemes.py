"""A URL curate cannot read, or as -o cannot write, is refused before the run starts,
with a message that says what it takes; never a traceback from fsspec trying a store
curate does not support (ftp:// connected as it was named), and never a whole run done
before the upload fails (-o https://).

Every URL here fails fast on this machine: 127.0.0.1 port 1, where nothing listens."""

from __future__ import annotations

import os

import pytest
from conftest import SEEDS, run_process

from curate.api import run as api_run
from curate.errors import UsageError

READS = "it reads local paths and s3://, gs://, hf://, http:// and https:// URLs: copy the files to one of those first"
WRITES = "-o takes a local folder or an s3://, gs:// or hf:// URL"


def _curate(*args, staging=None):
    env = {**os.environ, "CURATE_STAGING": str(staging)} if staging is not None else None
    result = run_process(*args, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.mark.parametrize("command", ["run", "dedup"])
@pytest.mark.parametrize("url,why", [
    ("ftp://127.0.0.1:1/x.txt", "curate does not read ftp:// URLs"),
    ("sftp://127.0.0.1:1/x.txt", "curate does not read sftp:// URLs"),
    ("memory://x.txt", "curate does not read memory:// URLs"),
    ("foo://x/y", "curate does not read foo:// URLs"),
    ("zip://x.txt::/tmp/a.zip", "a chained URL (with ::), which curate does not take"),
    ("simplecache::s3://bucket/x.txt", "a chained URL (with ::), which curate does not take"),
    ("s3://bucket/a.zip::zip://x.txt", "a chained URL (with ::), which curate does not take"),
    ("http://[::1]:1/x.txt", "an IPv6 address with :: in a URL, which fsspec reads as a chain of stores; give the "
                             "host by name (e.g. localhost) or with its zeros written out"),
])
def test_an_input_url_curate_cannot_read_is_a_usage_error(tmp_path, command, url, why):
    out = tmp_path / "out"
    result = _curate(command, SEEDS, url, "-o", out, "-q")
    assert result.returncode == 2
    assert f"Invalid value for '[INPUTS]...': {url}: {why}; {READS}" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("url,why", [
    ("ftp://127.0.0.1:1/out", "curate does not write ftp:// URLs"),
    ("memory://out", "curate does not write memory:// URLs"),
    ("http://127.0.0.1:1/out", "curate reads http:// but cannot write there (a web server takes no uploads)"),
    ("https://127.0.0.1:1/out", "curate reads https:// but cannot write there (a web server takes no uploads)"),
    ("zip://a::s3://bucket/out.zip", "a chained URL (with ::), which curate does not take"),
])
def test_an_output_url_curate_cannot_write_is_refused_before_anything_is_read_or_staged(tmp_path, url, why):
    staging = tmp_path / "staging"
    # The input does not exist: the -o refusal comes first, before any input is looked at.
    result = _curate("run", tmp_path / "no-such-input", "-o", url, "-q", staging=staging)
    assert result.returncode == 2
    assert f"Invalid value for '-o' / '--output': {url}: {why}; {WRITES}" in result.stderr
    assert not staging.exists()


def test_inputs_from_a_url_curate_cannot_read_is_a_usage_error(tmp_path):
    result = _curate("run", "--inputs-from", "ftp://127.0.0.1:1/list.txt", "-o", tmp_path / "out", "-q")
    assert result.returncode == 2
    assert f"Invalid value for '--inputs-from': ftp://127.0.0.1:1/list.txt: curate does not read ftp:// URLs; " \
           f"{READS}" in result.stderr


def test_a_listed_url_curate_cannot_read_stops_the_run_before_it_starts(tmp_path):
    listed = tmp_path / "list.txt"
    listed.write_text(f"{SEEDS}\nftp://127.0.0.1:1/x.txt\n")
    out = tmp_path / "out"
    result = _curate("run", "--inputs-from", listed, "-o", out, "-q")
    assert result.returncode == 1
    assert f"Error: ftp://127.0.0.1:1/x.txt: curate does not read ftp:// URLs; {READS}" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/x.txt", "http://127.0.0.1:1/crawl/"])
def test_a_supported_store_that_cannot_be_reached_is_a_clear_error(tmp_path, url):
    out = tmp_path / "out"
    result = _curate("run", url, "-o", out, "-q")
    assert result.returncode == 1
    assert f"Error: {url}: cannot list it (" in result.stderr and "check the URL" in result.stderr
    assert not out.exists()


def test_the_library_refuses_an_output_it_cannot_write_before_reading(tmp_path):
    with pytest.raises(UsageError, match="curate reads https:// but cannot write there"):
        api_run([tmp_path / "no-such-input"], "https://127.0.0.1:1/out")
    with pytest.raises(UsageError, match="curate does not read ftp:// URLs"):
        api_run(["ftp://127.0.0.1:1/x.txt"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_file_and_local_urls_are_local_paths(tmp_path):
    out = tmp_path / "out"
    result = _curate("run", f"file://{SEEDS}", "-o", f"local://{out}", "-q")
    assert result.returncode == 0, result.stderr
    assert (out / "summary.json").is_file()
