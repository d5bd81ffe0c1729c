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


@pytest.fixture
def silent_server():
    """A server that accepts connections and never answers: ``http://127.0.0.1:PORT``."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(50)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


@pytest.mark.parametrize("store", ["http", "s3"])
def test_a_server_that_never_answers_stops_the_run_at_the_read_timeout_saying_so(tmp_path, silent_server, store):
    """With no timeout the run stayed silent for 5 to 7 minutes (s3fs and botocore retried
    each other's timeouts)."""
    import time

    env = {**os.environ, "CURATE_READ_TIMEOUT": "1", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": silent_server}
    url = f"{silent_server}/doc.jsonl" if store == "http" else "s3://bucket/crawl/"
    started = time.monotonic()
    result = run_process("run", url, "-o", tmp_path / "out", "-q", env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"Error: {url}: cannot list it (" in result.stderr, result.stderr
    assert "no answer within the timeout, CURATE_CONNECT_TIMEOUT or CURATE_READ_TIMEOUT seconds" in result.stderr
    assert elapsed < 30, elapsed  # three tries of a second each, their backoff, and curate's start
    assert not (tmp_path / "out").exists()


def test_a_timeout_that_is_no_number_of_seconds_is_said(tmp_path):
    env = {**os.environ, "CURATE_READ_TIMEOUT": "soon"}
    result = run_process("run", "http://127.0.0.1:1/x.jsonl", "-o", tmp_path / "out", "-q", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "CURATE_READ_TIMEOUT=soon: not a number of seconds above 0" in result.stderr


def test_an_output_bucket_on_a_server_that_never_answers_is_said_before_the_run(tmp_path, silent_server):
    import time

    env = {**os.environ, "CURATE_READ_TIMEOUT": "1", "AWS_ACCESS_KEY_ID": "testing", "CURATE_STAGING": str(tmp_path),
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": silent_server}
    started = time.monotonic()
    result = run_process("run", SEEDS, "-o", "s3://bucket/out", "-q", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "Error: s3://bucket/out: cannot reach the output bucket (" in result.stderr, result.stderr
    assert "no answer within the timeout" in result.stderr
    assert time.monotonic() - started < 30
