"""A signed web URL's credentials never reach the output, and its output does not change
when the URL is signed again (curate/signed_urls.py).

``curate run 'https://host/doc.jsonl?X-Amz-Signature=...&X-Amz-Credential=...'`` wrote
the signature and the credential into summary.json's root, the documents' sources and
ids, the audit and the quarantine: a secret in a corpus users publish, and an output that
changed each time the same data was signed for. Through the real CLI, against a web
server on localhost.
"""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

import orjson
import pytest
from conftest import output_files, run_process, web_server
from test_readers import DOCUMENTS

from curate.signed_urls import public_url, shortened

# Two signings of the same URLs, as boto3's generate_presigned_url writes them (SigV4):
# another key, date, expiry and signature.
SIGNED = (
    ("AKIAFIRSTKEYEXAMPLE", "20260101T000000Z", "3600",
     "4f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"),
    ("AKIASECONDKEYEXAMPL", "20260202T120000Z", "600",
     "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1"),
)
SECRETS = [part for key, _, _, signature in SIGNED for part in (key, signature)]


def _signed(url: str, signing: int, extra: str = "") -> str:
    key, date, expires, signature = SIGNED[signing]
    query = (f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={key}%2F{date[:8]}%2Fus-east-1%2Fs3%2Faws4_request"
             f"&X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}")
    return f"{url}?{extra}{'&' if extra else ''}{query}"


class _Files(http.server.SimpleHTTPRequestHandler):
    """A folder's files; broken.jsonl answers its HEAD but fails its GET with a 500, whose
    error, as aiohttp words it, names the URL asked, signature and all."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/broken.jsonl"):
            self.send_error(500)
            return
        super().do_GET()


@pytest.fixture
def site(tmp_path) -> Path:
    folder = tmp_path / "www"
    folder.mkdir()
    (folder / "doc.jsonl").write_bytes(b"".join(orjson.dumps({"text": doc["text"]}) + b"\n" for doc in DOCUMENTS))
    (folder / "bad.jsonl").write_bytes(b"not JSON at all\n" + orjson.dumps({"text": DOCUMENTS[0]["text"]}) + b"\n")
    (folder / "broken.jsonl").write_bytes(orjson.dumps({"text": DOCUMENTS[1]["text"]}) + b"\n")
    return folder


def _served(folder: Path):
    return web_server(handler=functools.partial(_Files, directory=str(folder)))


def test_a_signed_url_leaves_no_credential_in_the_output_and_signed_again_gives_the_same_bytes(site, tmp_path):
    outputs = []
    with _served(site) as base:
        for signing in (0, 1):
            out = tmp_path / f"signed-{signing}"
            urls = [_signed(f"{base}/{name}", signing) for name in ("doc.jsonl", "bad.jsonl", "broken.jsonl")]
            done = run_process("run", *urls, "-o", out, "-q")
            assert done.returncode == 0, done.stderr
            outputs.append(output_files(out))
    assert outputs[0] == outputs[1]
    for name, data in outputs[0].items():
        assert b"X-Amz-" not in data and not any(secret.encode() in data for secret in SECRETS), name
    summary = orjson.loads(outputs[0]["summary.json"])
    assert [root["root"] for root in summary["inputs"]] == [
        f"{base}/doc.jsonl", f"{base}/bad.jsonl", f"{base}/broken.jsonl"]
    problems = [orjson.loads(line) for line in outputs[0]["quarantine.jsonl"].splitlines()]
    assert [(p["source"], p["problem"].split(":")[0]) for p in problems] == [
        ("bad.jsonl", "invalid JSON"), ("broken.jsonl", "read error")], problems
    # The server's refusal is said, its URL without the signature.
    assert f"url='{base}/broken.jsonl'" in problems[1]["problem"], problems[1]


def test_other_query_parameters_are_kept_and_tell_two_sources_apart(site, tmp_path):
    out = tmp_path / "out"
    with web_server(site) as base:
        done = run_process("run", _signed(f"{base}/doc.jsonl", 0, "page=1"), _signed(f"{base}/doc.jsonl", 1, "page=2"),
                           "-o", out, "-q")
    assert done.returncode == 0, done.stderr
    summary = orjson.loads((out / "summary.json").read_bytes())
    assert [(root["label"], root["root"]) for root in summary["inputs"]] == [
        ("doc.jsonl?page=1", f"{base}/doc.jsonl?page=1"), ("doc.jsonl?page=2", f"{base}/doc.jsonl?page=2")]
    data = b"".join(output_files(out).values())
    assert not any(secret.encode() in data for secret in SECRETS)


def test_the_terminal_shows_a_signed_url_with_its_secrets_cut_short(site, tmp_path):
    with web_server(site) as base:
        missing = run_process("run", _signed(f"{base}/missing.jsonl", 0), "-o", tmp_path / "out", "-q")
        # The same object signed twice is one input given twice, as the same URL is.
        twice = run_process("run", _signed(f"{base}/doc.jsonl", 0), _signed(f"{base}/doc.jsonl", 1), "-o",
                            tmp_path / "out", "-q")
    assert missing.returncode == 1 and twice.returncode == 1, missing.stderr + twice.stderr
    assert f"{base}/missing.jsonl?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA...&X-Amz-Date=" \
           f"20260101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=4f1e...: no such file" \
        in missing.stderr, missing.stderr
    assert "overlap, so files would be read twice" in twice.stderr, twice.stderr
    for said in (missing.stderr, twice.stderr):
        assert not any(secret in said for secret in SECRETS), said
    assert not (tmp_path / "out").exists()


@pytest.mark.unit
@pytest.mark.parametrize(("given", "public"), [
    # AWS Signature Version 4, a session's token too
    (_signed("https://b.s3.amazonaws.com/k.jsonl", 0) + "&X-Amz-Security-Token=FQoG", "https://b.s3.amazonaws.com/k.jsonl"),
    # AWS Signature Version 2, with a parameter of the page's own
    ("https://b.s3.amazonaws.com/k.jsonl?AWSAccessKeyId=AKIA&Expires=1700000000&Signature=abc%3D&v=2",
     "https://b.s3.amazonaws.com/k.jsonl?v=2"),
    # Google Cloud Storage, V4 and V2
    ("https://storage.googleapis.com/b/k.jsonl?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=sa%40p.iam"
     "&X-Goog-Date=20260101T000000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host&X-Goog-Signature=0a1b",
     "https://storage.googleapis.com/b/k.jsonl"),
    ("https://storage.googleapis.com/b/k.jsonl?GoogleAccessId=sa%40p.iam&Expires=1700000000&Signature=ab%2Bc",
     "https://storage.googleapis.com/b/k.jsonl"),
    # Azure's SAS token, whole, its short names dropped only beside sig and sv
    ("https://a.blob.core.windows.net/c/k.jsonl?sp=r&st=2026-01-01T00:00:00Z&se=2026-01-02T00:00:00Z&spr=https"
     "&sv=2022-11-02&sr=b&sig=AbC%2Fd%3D&page=3", "https://a.blob.core.windows.net/c/k.jsonl?page=3"),
    ("https://forum.example/thread?st=20&sp=1", "https://forum.example/thread?st=20&sp=1"),
    # CloudFront; a fragment kept; no query at all; a bucket's key with a '?' in it
    ("https://d1.cloudfront.net/k.jsonl?Policy=eyJ&Signature=x~y&Key-Pair-Id=K2#part",
     "https://d1.cloudfront.net/k.jsonl#part"),
    ("https://example.org/dump/part-0.jsonl.gz", "https://example.org/dump/part-0.jsonl.gz"),
    ("s3://b/k?X-Amz-Signature=abc", "s3://b/k?X-Amz-Signature=abc"),
])
def test_the_output_spelling_drops_the_parameters_of_every_known_signing_scheme(given, public):
    assert public_url(given) == public
    assert public_url(public) == public


@pytest.mark.unit
def test_the_terminal_spelling_cuts_only_the_secrets_and_keeps_what_follows_the_url():
    said = shortened("https://h/k?X-Amz-Date=20260101T000000Z&X-Amz-Signature=0123456789abcdef: no such file; "
                     "(https://h/x?sig=short&sv=1).")
    assert said == ("https://h/k?X-Amz-Date=20260101T000000Z&X-Amz-Signature=0123...: no such file; "
                    "(https://h/x?sig=...&sv=1).")
