"""Inputs and outputs in object storage, against a real S3-compatible server (moto in
server mode) that these tests start on localhost, and a real web server for http://.

What a user needs: a sharded dataset in a bucket is read as it would be from disk (same
bytes out), the output goes to a bucket byte for byte as it would to a folder, and a run
killed while it works or while it uploads is finished by --resume. Nothing outside this
machine is contacted: the endpoint is 127.0.0.1 and the credentials are dummies.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import orjson
import pytest
import zstandard
from conftest import (
    ROOT,
    UTF8_LOCALE,
    in_process,
    killed_at_open,
    locale_env,
    needs_strace,
    output_files,
    run_process,
    web_server,
)
from test_readers import DOCUMENTS, _write_parquet, _write_wet

sys.path.insert(0, str(ROOT / "bench"))
# Imported, not skipped when missing: both are in the test extra, and a skip would hide a
# broken install in CI.
import s3fs
from generate import generate

FILES = ("README.md", "corpus", "removed.jsonl", "quarantine.jsonl", "summary.json")


@pytest.fixture(scope="module")
def s3(tmp_path_factory) -> Iterator[s3fs.S3FileSystem]:
    """A moto S3 server on a free localhost port; the AWS settings of this process (and so
    of every curate process the tests start) point at it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    settings = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": f"http://{host}:{port}", "CURATE_STAGING": str(tmp_path_factory.mktemp("staging"))}
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    try:
        yield fs
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


_buckets = iter(range(1_000_000))


@pytest.fixture
def bucket(s3) -> str:
    """A new, empty bucket for each test: the server is shared by the module."""
    name = f"curate-test-{next(_buckets)}"
    s3.mkdir(name)
    return name


# The runs of local files only (the references a bucket's run is compared with) run
# in-process; every run that reads or writes a bucket or a web server is a process: an
# fsspec file system is cached per process (its listings too), which a warm test process
# would carry from one run to the next.


def _sharded_dataset(folder: Path) -> Path:
    """A dump as users hold it: shards in several formats in nested folders, beside a
    hidden file, a file no reader claims and an earlier curate run's output."""
    records = [{**doc, "shard": k} for k, doc in enumerate(DOCUMENTS)]
    data = folder / "crawl"
    (data / "a").mkdir(parents=True)
    (data / "b").mkdir()
    lines = b"".join(orjson.dumps(r) + b"\n" for r in records)
    (data / "a" / "part-00000.jsonl.gz").write_bytes(gzip.compress(lines, mtime=0))
    (data / "a" / "part-00001.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(
        lines.replace(b'"shard":', b'"copy":')))
    _write_parquet(data / "b" / "part-00000.parquet")
    _write_wet(data / "b" / "part-00001.warc.wet.gz")
    # A dataset saved by `datasets` (its .arrow file, and two metadata files to skip), a
    # JSON array and a CSV file.
    import datasets

    datasets.Dataset.from_list([{**doc, "saved": k} for k, doc in enumerate(DOCUMENTS)]).save_to_disk(data / "c")
    # map() on the loaded dataset writes its cache file into the folder: skipped, not read.
    datasets.load_from_disk(str(data / "c")).map(lambda r: {"text": r["text"].upper()})
    (data / "d").mkdir()
    (data / "d" / "items.json").write_bytes(orjson.dumps([{**doc, "item": k} for k, doc in enumerate(DOCUMENTS)]))
    (data / "d" / "table.csv").write_bytes(b"id,text\n" + b"".join(
        b'row-%d,"%s"\n' % (k, doc["text"].replace('"', '""').encode()) for k, doc in enumerate(DOCUMENTS)))
    (data / ".listing.jsonl").write_bytes(lines)
    (data / "README.md").write_text("what this dump is\n")
    old = in_process("run", ROOT / "seeds", "-o", data / "old-run", "-q")
    assert old.returncode == 0, old.stderr
    return data


def _without_inputs(summary: bytes) -> dict:
    """summary.json without the inputs' roots, which name where the inputs were."""
    parsed = orjson.loads(summary)
    parsed.pop("inputs", None)
    return parsed


def _remote_files(s3, url: str) -> dict[str, bytes]:
    root = url.removeprefix("s3://").rstrip("/")
    s3.invalidate_cache()
    return {name[len(root) + 1:]: s3.cat_file(name) for name in sorted(s3.find(root))}


def test_a_sharded_dataset_in_a_bucket_reads_as_it_does_from_disk(s3, bucket, tmp_path):
    data = _sharded_dataset(tmp_path)
    s3.put(str(data), f"{bucket}/crawl", recursive=True)
    from_disk = in_process("run", data, "-o", tmp_path / "from-disk", "-q")
    from_bucket = run_process("run", f"s3://{bucket}/crawl", "-o", tmp_path / "from-bucket", "-q",
                              "--workers", "2")
    assert from_disk.returncode == 0, from_disk.stderr
    assert from_bucket.returncode == 0, from_bucket.stderr
    disk, remote = output_files(tmp_path / "from-disk"), output_files(tmp_path / "from-bucket")
    assert disk.keys() == remote.keys()
    for name in disk:
        if name == "summary.json":
            assert _without_inputs(remote[name]) == _without_inputs(disk[name])
        else:
            assert remote[name] == disk[name], name
    # Every format was read, the skipped entries are said, and the metadata came along.
    records = [orjson.loads(line) for line in remote["corpus/part-00000.jsonl"].splitlines()]
    assert {r["source"] for r in records} == {"a/part-00000.jsonl.gz", "a/part-00001.jsonl.zst",
                                              "b/part-00000.parquet", "b/part-00001.warc.wet.gz",
                                              "c/data-00000-of-00001.arrow", "d/items.json", "d/table.csv"}
    assert {r["metadata"]["url"] for r in records if r["source"].startswith("a/")} == \
        {doc["url"] for doc in DOCUMENTS}
    problems = [orjson.loads(line) for line in remote["quarantine.jsonl"].splitlines()]
    skipped = {p["source"]: p["problem"] for p in problems if not p["problem"].startswith("duplicate id")}
    metadata = "metadata of a Hugging Face dataset folder (save_to_disk) skipped"
    [cache] = [name for name in skipped if name.startswith("c/cache-")]
    assert skipped == {".listing.jsonl": "hidden file skipped", "README.md": "unsupported file type",
                       "old-run": "output folder of a curate run skipped", "c/state.json": metadata,
                       "c/dataset_info.json": metadata,
                       cache: "cache file of a Hugging Face dataset folder, not listed in its state.json: skipped"}


def test_a_pattern_over_a_bucket_takes_what_the_same_pattern_takes_on_disk(s3, bucket, tmp_path):
    data = _sharded_dataset(tmp_path)
    s3.put(str(data), f"{bucket}/crawl", recursive=True)
    pattern = "*/part-0000[01].*"  # a/ and b/'s shards, not c/'s dataset, d/'s files or old-run/'s output
    on_disk = in_process("run", f"{data}/{pattern}", "-o", tmp_path / "disk", "-q")
    in_bucket = run_process("run", f"s3://{bucket}/crawl/{pattern}", "-o", tmp_path / "bucket", "-q")
    assert on_disk.returncode == 0 and in_bucket.returncode == 0, on_disk.stderr + in_bucket.stderr
    disk, remote = output_files(tmp_path / "disk"), output_files(tmp_path / "bucket")
    for name in disk:
        if name != "summary.json":
            assert remote[name] == disk[name], name
    sources = {orjson.loads(line)["source"] for line in remote["corpus/part-00000.jsonl"].splitlines()}
    assert sources == {"a/part-00000.jsonl.gz", "a/part-00001.jsonl.zst", "b/part-00000.parquet",
                       "b/part-00001.warc.wet.gz"}
    assert orjson.loads(remote["summary.json"])["inputs"] == [
        {"folder": f"s3://{bucket}/crawl", "label": "", "root": f"s3://{bucket}/crawl/{pattern}"}]
    # A pattern that takes a saved dataset's .arrow files and not its state.json: the
    # cache file beside them is still told from its data file, as on disk.
    on_disk = in_process("run", f"{data}/c/*.arrow", "-o", tmp_path / "disk-c", "-q")
    in_bucket = run_process("run", f"s3://{bucket}/crawl/c/*.arrow", "-o", tmp_path / "bucket-c", "-q")
    assert on_disk.returncode == 0 and in_bucket.returncode == 0, on_disk.stderr + in_bucket.stderr
    disk, remote = output_files(tmp_path / "disk-c"), output_files(tmp_path / "bucket-c")
    assert {name: data for name, data in remote.items() if name != "summary.json"} == \
        {name: data for name, data in disk.items() if name != "summary.json"}
    assert {orjson.loads(line)["source"] for line in remote["corpus/part-00000.jsonl"].splitlines()} == \
        {"data-00000-of-00001.arrow"}
    assert [orjson.loads(line)["problem"] for line in remote["quarantine.jsonl"].splitlines()] == [
        "cache file of a Hugging Face dataset folder, not listed in its state.json: skipped"]


def test_the_output_goes_to_a_bucket_byte_for_byte_and_is_not_overwritten_unasked(s3, bucket, tmp_path):
    local = tmp_path / "local"
    url = f"s3://{bucket}/clean"
    for out in (local, url):
        result = run_process("run", ROOT / "seeds", "-o", out, "-q", "--output-format", "jsonl.zst")
        assert result.returncode == 0, result.stderr
    expected = output_files(local)
    assert _remote_files(s3, url) == expected
    assert not any(Path(os.environ["CURATE_STAGING"]).iterdir()), "the staging folder goes once uploaded"

    again = run_process("run", ROOT / "seeds", "-o", url, "-q")
    assert again.returncode == 1
    assert f"{url}: the folder holds a finished run (summary.json); use --overwrite" in again.stderr
    assert _remote_files(s3, url) == expected

    replaced = run_process("run", ROOT / "seeds", "-o", url, "-q", "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    plain = {name.replace(".jsonl.zst", ".jsonl"): data for name, data in _remote_files(s3, url).items()}
    assert set(plain) == {"README.md", "corpus/part-00000.jsonl", "removed.jsonl", "quarantine.jsonl",
                          "summary.json"}, "--overwrite removed the old shards before writing the new ones"
    assert plain["README.md"] == (local / "README.md").read_bytes().replace(b".jsonl.zst", b".jsonl")


def test_an_earlier_runs_output_in_a_bucket_named_as_the_input_is_refused_and_its_corpus_is_read(s3, bucket,
                                                                                                     tmp_path):
    """As on disk (test_hostile_input): named, the output folder was read whole."""
    local = tmp_path / "clean"
    first = in_process("run", ROOT / "seeds", "-o", local, "-q", "--save-index")
    assert first.returncode == 0, first.stderr
    s3.put(str(local), f"{bucket}/clean", recursive=True)
    s3.put(str(local / "corpus"), f"{bucket}/part/corpus", recursive=True)
    s3.pipe(f"{bucket}/part/.partial/chunks.jsonl", b"")  # an unfinished run's folder
    for given in (f"s3://{bucket}/clean", f"s3://{bucket}/clean/", f"s3://{bucket}/clean/*.jsonl",
                  f"s3://{bucket}/part"):
        result = run_process("run", given, "-o", tmp_path / "again", "-q")
        folder = given.removesuffix("/*.jsonl").rstrip("/")
        assert result.returncode == 1, result.stderr
        assert f"a curate run's output folder, whose files curate does not read as input; to read its corpus, give " \
               f"{folder}/corpus/ as the input" in result.stderr, result.stderr
        assert not (tmp_path / "again").exists()
    # A pattern that names the corpus/ below each output folder reads both corpora.
    both = run_process("run", f"s3://{bucket}/*/corpus/*.jsonl", "-o", tmp_path / "both", "-q")
    assert both.returncode == 0, both.stderr
    assert {orjson.loads(line)["source"].split("/corpus/")[0] for line in
            output_files(tmp_path / "both")["corpus/part-00000.jsonl"].splitlines()} == {"clean", "part"}
    from_bucket = run_process("run", f"s3://{bucket}/clean/corpus/", "-o", tmp_path / "bucket", "-q")
    from_disk = in_process("run", local / "corpus", "-o", tmp_path / "disk", "-q")
    assert from_bucket.returncode == 0 and from_disk.returncode == 0, from_bucket.stderr + from_disk.stderr
    assert output_files(tmp_path / "bucket")["corpus/part-00000.jsonl"] == \
        output_files(tmp_path / "disk")["corpus/part-00000.jsonl"] != b""


def test_an_input_inside_the_output_bucket_folder_is_refused_however_spelled_and_never_deleted(s3, bucket):
    """A pattern over a finished output's corpus, with --overwrite, deleted the shard it
    was to read and ended with 0; so did an input spelled s3a:// inside an s3:// output.
    Refused as on disk, before anything is deleted."""
    out = f"s3://{bucket}/out1"
    assert run_process("run", ROOT / "seeds", "-o", out, "-q").returncode == 0
    before = _remote_files(s3, out)
    refused = {
        (f"{out}/corpus/*.jsonl", out): "the output folder holds the folder the pattern",
        (f"s3://{bucket}/*/corpus/*.jsonl", f"s3a://{bucket}/out1/"): "may take the output folder's files",
        (f"s3a://{bucket}/out1/corpus", out): "the output folder and the input",
        (f"s3a://{bucket}/out1/corpus/", f"S3://{bucket}/out1/"): "the output folder and the input",
    }
    for (given, output), why in refused.items():
        result = run_process("run", given, "-o", output, "-q", "--overwrite")
        assert result.returncode == 1, (given, result.stderr)
        assert why in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert _remote_files(s3, out) == before, given
    twice = run_process("run", f"s3a://{bucket}/out1/corpus/", f"s3://{bucket}/out1/corpus", "-o", "unused", "-q")
    assert twice.returncode == 1 and "overlap, so files would be read twice" in twice.stderr, twice.stderr
    # A pattern whose folder holds the output but takes none of its files is no overlap.
    s3.pipe(f"{bucket}/in/a.jsonl", _record("in/a.jsonl"))
    apart = run_process("run", f"s3://{bucket}/i*/*.jsonl", "-o", out, "-q", "--overwrite")
    assert apart.returncode == 0, apart.stderr


def test_a_bucket_folder_holding_other_files_is_refused(s3, bucket):
    s3.pipe(f"{bucket}/mixed/notes.txt", b"someone else's file\n")
    result = run_process("run", ROOT / "seeds", "-o", f"s3://{bucket}/mixed", "-q")
    assert result.returncode == 1
    assert "holds files curate did not write (notes.txt)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bucket_folder_holding_a_readme_of_the_users_own_is_refused(s3, bucket):
    s3.pipe(f"{bucket}/carded/README.md", b"# My corpus\n")
    result = run_process("run", ROOT / "seeds", "-o", f"s3://{bucket}/carded", "-q", "--overwrite")
    assert result.returncode == 1
    assert "holds files curate did not write (README.md)" in result.stderr
    assert s3.cat(f"{bucket}/carded/README.md") == b"# My corpus\n"


def test_a_bucket_folder_whose_corpus_or_summary_is_not_curates_is_refused_with_overwrite(s3, bucket):
    s3.pipe(f"{bucket}/lookalike/corpus/notes.txt", b"my notes\n")
    s3.pipe(f"{bucket}/lookalike/summary.json", b'{"f1": 0.9}\n')
    result = run_process("run", ROOT / "seeds", "-o", f"s3://{bucket}/lookalike", "-q", "--overwrite")
    assert result.returncode == 1
    assert "holds files curate did not write (summary.json (not a curate run's), corpus/notes.txt)" in result.stderr
    assert s3.cat(f"{bucket}/lookalike/corpus/notes.txt") == b"my notes\n"
    assert s3.cat(f"{bucket}/lookalike/summary.json") == b'{"f1": 0.9}\n'


def test_staging_with_a_local_output_is_refused(tmp_path):
    result = in_process("run", ROOT / "seeds", "-o", tmp_path / "out", "--staging", tmp_path / "stage", "-q")
    assert result.returncode == 1
    assert "local folder, written in place: leave --staging out" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_missing_bucket_path_or_unknown_store_is_a_usage_error(s3, bucket):
    missing = run_process("run", f"s3://{bucket}/nothing-here", "-o", "unused", "-q")
    assert missing.returncode == 1
    assert f"s3://{bucket}/nothing-here: no such file or folder; check the URL" in missing.stderr
    unknown = run_process("run", "nosuchstore://x/y", "-o", "unused", "-q")
    assert unknown.returncode == 2  # refused as the arguments are read: tests/test_url_schemes.py has the rest
    assert "nosuchstore://x/y: curate does not read nosuchstore:// URLs" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_an_output_bucket_that_does_not_exist_is_said_before_the_run(s3, bucket, tmp_path):
    """It was found by the first upload, once the run was over, in an error naming the
    local staging folder and advising --resume."""
    s3.pipe(f"{bucket}/in/a.jsonl", _record("in/a.jsonl"))
    for output in ("s3://no-such-bucket-here/out", "s3a://no-such-bucket-here/out/"):
        result = run_process("run", f"s3://{bucket}/in/", "-o", output, "-q")
        assert result.returncode == 1, result.stderr
        scheme = output.split("://")[0]
        assert f"-o {output.rstrip('/')}: the bucket {scheme}://no-such-bucket-here does not exist" in result.stderr, \
            result.stderr
        assert "aws s3 mb s3://no-such-bucket-here" in result.stderr
        assert "staging" not in result.stderr and "--resume" not in result.stderr
    assert not any(Path(os.environ["CURATE_STAGING"]).iterdir()), "nothing was staged"


def test_an_object_gone_between_listing_and_reading_is_quarantined_not_a_crash(s3, bucket):
    from curate.discover import discover
    from curate.formats import read_documents

    s3.pipe(f"{bucket}/in/a.jsonl", orjson.dumps(DOCUMENTS[0]) + b"\n")
    s3.pipe(f"{bucket}/in/b.jsonl", orjson.dumps(DOCUMENTS[1]) + b"\n")
    found = discover([f"s3://{bucket}/in"])
    s3.rm(f"{bucket}/in/a.jsonl")
    items = list(read_documents(found.files))
    assert [type(item).__name__ for item in items] == ["Problem", "RawDocument"]
    assert items[0].source == "a.jsonl" and "does not exist" in items[0].problem
    assert items[1].id == DOCUMENTS[1]["id"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("generated")
    generate(0.75, folder)  # about 250 documents: 12 chunks of 20
    return folder / "corpus.jsonl"


@pytest.mark.slow
@needs_strace
def test_a_run_into_a_bucket_killed_midway_resumes_to_identical_bytes(s3, bucket, generated, tmp_path):
    s3.put(str(generated), f"{bucket}/in/corpus.jsonl")
    source, url, staging = f"s3://{bucket}/in", f"s3://{bucket}/out", tmp_path / "staging"
    command = ["run", source, "-o", url, "-q", "--chunk-docs", "20", "--staging", staging]
    reference = in_process("run", source, "-o", tmp_path / "local", "-q", "--chunk-docs", "20")
    assert reference.returncode == 0, reference.stderr
    from curate.staged import staging_folder

    # Killed by strace as it marks its fourth chunk (of 12) finished: waiting for the third
    # marker to appear and then killing it raced the run, which could end first.
    partial = staging_folder(url, staging) / ".partial"
    killed_at_open(partial / "000003.done", Path(sys.executable).parent / "curate", *command, cwd=ROOT)
    assert sorted(path.name for path in partial.glob("*.done")) == ["000000.done", "000001.done", "000002.done"]
    assert _remote_files(s3, url) == {}, "nothing reaches the bucket before the run is finished"

    refused = run_process(*command)
    assert refused.returncode == 1 and "--resume" in refused.stderr
    resumed = run_process(*command, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert _remote_files(s3, url) == output_files(tmp_path / "local")
    assert not partial.parent.exists(), "the staging folder goes once uploaded"


@pytest.mark.slow
@needs_strace
def test_a_run_killed_while_uploading_is_finished_by_resume(s3, bucket, tmp_path):
    url, staging = f"s3://{bucket}/out", tmp_path / "staging"
    command = ["run", ROOT / "seeds", "-o", url, "-q", "--chunk-docs", "2", "--staging", staging]
    reference = in_process(*command[:3], tmp_path / "local", *command[4:7])
    assert reference.returncode == 0, reference.stderr
    from curate.staged import staging_folder

    # Killed as it opens the staged summary.json to upload it: the last file to go up.
    summary = staging_folder(url, staging) / "summary.json"
    killed_at_open(summary, Path(sys.executable).parent / "curate", *command)
    uploaded = _remote_files(s3, url)
    assert "summary.json" not in uploaded and "removed.jsonl" in uploaded, sorted(uploaded)

    refused = run_process(*command)
    assert refused.returncode == 1
    assert "a run that stopped while uploading. Use --resume to finish it" in refused.stderr
    resumed = run_process(*command, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert _remote_files(s3, url) == output_files(tmp_path / "local")
    assert not summary.parent.exists()


def test_an_upload_whose_staging_folder_is_gone_says_resume_cannot_finish_it(s3, bucket, tmp_path):
    """The bucket holds part of an upload and the staging folder is gone (another machine,
    a cleared cache): each message sent the user to the other (--resume: 'nothing to
    continue', without it: 'use --resume'); both now say --overwrite."""
    url, staging = f"s3://{bucket}/half", tmp_path / "staging"
    command = ["run", ROOT / "seeds", "-o", url, "-q", "--staging", staging]
    assert run_process(*command).returncode == 0
    for name in ("summary.json", "README.md"):  # as a kill during the upload leaves it
        s3.rm(f"{bucket}/half/{name}")
    assert not staging.exists() or not any(staging.iterdir())
    for extra in ((), ("--resume",)):
        refused = run_process(*command, *extra)
        assert refused.returncode == 1, refused.stderr
        assert "cannot be resumed" in refused.stderr or "holds none" in refused.stderr, refused.stderr
        assert "use --overwrite to start again" in refused.stderr and "Traceback" not in refused.stderr
    assert run_process(*command, "--overwrite").returncode == 0
    assert "summary.json" in _remote_files(s3, url)


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """Python's own web server on a free localhost port, serving a folder."""
    folder = tmp_path_factory.mktemp("www")
    with web_server(folder) as base:
        yield base, folder


def test_files_are_read_over_http_as_from_disk(web, tmp_path):
    base, folder = web
    _write_parquet(folder / "docs.parquet")
    (folder / "docs.jsonl.gz").write_bytes(gzip.compress(b"".join(orjson.dumps(d) + b"\n" for d in DOCUMENTS)))
    local = in_process("run", folder / "docs.parquet", folder / "docs.jsonl.gz", "-o", tmp_path / "local", "-q")
    remote = run_process("run", f"{base}/docs.parquet", f"{base}/docs.jsonl.gz", "-o", tmp_path / "remote", "-q")
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    disk, web_files = output_files(tmp_path / "local"), output_files(tmp_path / "remote")
    assert {k: v for k, v in web_files.items() if k != "summary.json"} == \
        {k: v for k, v in disk.items() if k != "summary.json"}
    assert _without_inputs(web_files["summary.json"]) == _without_inputs(disk["summary.json"])


def test_a_web_folder_url_ending_in_a_slash_reads_its_files_as_without_it(web, tmp_path):
    """``http://host/sub/`` read nothing, with advice about object keys ending in '/'."""
    base, folder = web
    (folder / "sub").mkdir()
    for k, doc in enumerate(DOCUMENTS[:3]):
        (folder / "sub" / f"doc-{k}.jsonl").write_bytes(orjson.dumps(doc) + b"\n")
    outputs = {}
    for given in (f"{base}/sub", f"{base}/sub/"):
        out = tmp_path / f"out{len(outputs)}"
        result = run_process("run", given, "-o", out, "-q")
        assert result.returncode == 0 and "ends in '/'" not in result.stderr, result.stderr
        summary = orjson.loads((out / "summary.json").read_bytes())
        assert summary["files"] == 3, summary
        outputs[given] = output_files(out)["corpus/part-00000.jsonl"]
    assert len(set(outputs.values())) == 1 and b'"source":"doc-0.jsonl"' in outputs[f"{base}/sub/"]


def test_a_presigned_web_url_with_a_query_is_read_as_the_file_it_names(web, tmp_path):
    """Its '?' made it a pattern, which no listing of the server could match."""
    base, folder = web
    (folder / "signed.jsonl").write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in DOCUMENTS))
    out = tmp_path / "out"
    result = run_process("run", f"{base}/signed.jsonl?X-Amz-Signature=abc&X-Amz-Expires=60", "-o", out, "-q")
    assert result.returncode == 0, result.stderr
    summary = orjson.loads((out / "summary.json").read_bytes())
    assert summary["files"] == 1 and summary["documents"]["read"] == len(DOCUMENTS), summary
    assert b'"source":"signed.jsonl"' in output_files(out)["corpus/part-00000.jsonl"]


class _UntypedFiles(http.server.BaseHTTPRequestHandler):
    """Serves one JSONL file at every path without a Content-Type, counting the GETs."""

    body = b"".join(orjson.dumps(d) + b"\n" for d in DOCUMENTS)
    gets: ClassVar[list[str]] = []

    def log_message(self, *args) -> None:
        pass

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()

    def do_GET(self) -> None:
        self.gets.append(f"{self.path} {self.headers.get('Range')}")
        self.do_HEAD()
        self.wfile.write(self.body)


def test_a_web_file_without_a_content_type_is_fetched_once_not_read_as_a_page_first(tmp_path):
    """fsspec asked whether the URL was a folder by GETting it and reading it all as a
    page of links: a 194 MB file took 606 MB of memory, and was fetched twice."""
    out = tmp_path / "out"
    with web_server(handler=_UntypedFiles) as base:
        result = run_process("run", f"{base}/docs.jsonl", "-o", out, "-q")
    assert result.returncode == 0, result.stderr
    assert orjson.loads((out / "summary.json").read_bytes())["documents"]["read"] == len(DOCUMENTS)
    # Only the reads' ranged GETs: none of the whole file, as a page of links.
    assert _UntypedFiles.gets and all(get.startswith("/docs.jsonl bytes=") for get in _UntypedFiles.gets), \
        _UntypedFiles.gets


# -- keys as S3 writes them: folder markers, a name both object and folder, odd segments ------


def _put_keys(bucket: str, keys: dict[str, bytes]) -> None:
    """Objects under exactly these keys, through boto3: s3fs would strip a key's trailing
    '/', and a test of keys must not depend on the library under test spelling them."""
    import boto3

    client = boto3.client("s3")
    for key, body in keys.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)


_WORDS = ("river", "stone", "lantern", "orchard", "violin", "harbour", "meadow", "copper", "thunder", "garden",
          "falcon", "silver", "bridge", "candle", "forest", "marble")


def _record(key: str) -> bytes:
    """One JSONL line whose id is its object's key, so that each document shows which object
    it was read from; its words drawn from the key's hash, so that dedup finds no two alike."""
    words = " ".join(_WORDS[b % len(_WORDS)] for b in hashlib.sha256(key.encode()).digest()[:16])
    return orjson.dumps({"id": key, "text": f"Object {key} holds {words}."}) + b"\n"


def _run_accounted(*args, objects: int) -> tuple[dict, dict[str, str], list[dict]]:
    """A run that ends without a traceback, every line read accounted for (kept, removed
    or quarantined) and one document read per object: (summary, {source: id} of the
    corpus, the quarantine's problems)."""
    out = Path(args[args.index("-o") + 1])
    done = run_process("run", *args, "-q", "--no-builtin-rules")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    summary = orjson.loads((out / "summary.json").read_bytes())
    lines = summary["lines"]
    assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"] == objects, lines
    assert summary["documents"]["read"] == objects, summary["documents"]
    kept = [orjson.loads(line) for line in (out / "corpus" / "part-00000.jsonl").read_bytes().splitlines()] \
        if objects else []
    problems = [orjson.loads(line) for line in (out / "quarantine.jsonl").read_bytes().splitlines()]
    return summary, {doc["source"]: doc["id"] for doc in kept}, problems


def test_folder_markers_are_empty_folders_as_on_disk(s3, bucket, tmp_path):
    """The AWS console's "Create folder" leaves an empty object whose key ends in '/': it
    crashed the walk (a file where a folder was needed), and a marker at the prefix given
    was a hidden file '.'. It is a folder, as on disk, and the run reads as the disk does."""
    _put_keys(bucket, {"crawl/": b"", "crawl/sub/": b"", "crawl/sub/a.jsonl": _record("crawl/sub/a.jsonl"),
                       "crawl/empty/": b""})
    (tmp_path / "disk" / "sub").mkdir(parents=True)
    (tmp_path / "disk" / "empty").mkdir()
    (tmp_path / "disk" / "sub" / "a.jsonl").write_bytes(_record("crawl/sub/a.jsonl"))
    _, sources, problems = _run_accounted(f"s3://{bucket}/crawl/", "-o", tmp_path / "bucket", objects=1)
    assert sources == {"sub/a.jsonl": "crawl/sub/a.jsonl"} and problems == []
    _run_accounted(tmp_path / "disk", "-o", tmp_path / "from-disk", objects=1)
    disk, remote = output_files(tmp_path / "from-disk"), output_files(tmp_path / "bucket")
    assert {k: v for k, v in remote.items() if k != "summary.json"} == \
        {k: v for k, v in disk.items() if k != "summary.json"}

    # The marker of the very prefix given is that folder, not a file named '.'.
    _, sources, problems = _run_accounted(f"s3://{bucket}/crawl/sub/", "-o", tmp_path / "sub", objects=1)
    assert sources == {"a.jsonl": "crawl/sub/a.jsonl"} and problems == []


def test_an_object_and_a_folder_of_one_name_are_both_read(s3, bucket, tmp_path):
    """Keys x.jsonl and x.jsonl/a.jsonl: no disk can hold both, a bucket can. The walk
    crashed on them; now both are read, each under its own key."""
    keys = ("crawl/x.jsonl", "crawl/x.jsonl/a.jsonl", "crawl/sub", "crawl/sub/b.jsonl")
    _put_keys(bucket, {key: _record(key) for key in keys})
    _, sources, problems = _run_accounted(f"s3://{bucket}/crawl", "-o", tmp_path / "all", objects=3)
    assert sources == {"x.jsonl": "crawl/x.jsonl", "x.jsonl/a.jsonl": "crawl/x.jsonl/a.jsonl",
                       "sub/b.jsonl": "crawl/sub/b.jsonl"}
    assert [(p["source"], p["problem"]) for p in problems] == [("sub", "unsupported file type")]


def test_a_folder_given_that_is_also_an_object_names_the_object_it_leaves(s3, bucket, tmp_path):
    """s3://b/crawl/x.jsonl is a folder (x.jsonl/a.jsonl) and an object: the folder is read,
    and the object, which listing the folder does not show, is named with what to do."""
    _put_keys(bucket, {key: _record(key) for key in ("crawl/x.jsonl", "crawl/x.jsonl/a.jsonl")})
    _, sources, problems = _run_accounted(f"s3://{bucket}/crawl/x.jsonl", "-o", tmp_path / "named", objects=1)
    assert sources == {"a.jsonl": "crawl/x.jsonl/a.jsonl"}
    assert [(p["source"], p["problem"], p["action"], p["lines"]) for p in problems] == [
        ("x.jsonl", "object named as the folder given",
         f"not read: s3://{bucket}/crawl/x.jsonl is both an object and a folder, and the folder's objects are read; "
         f"to read the object too, give the folder above it (s3://{bucket}/crawl/) as the input", 0)]
    # With its '/', the URL names the folder alone: the object beside it is not asked for.
    _, sources, problems = _run_accounted(f"s3://{bucket}/crawl/x.jsonl/", "-o", tmp_path / "folder", objects=1)
    assert sources == {"a.jsonl": "crawl/x.jsonl/a.jsonl"} and problems == []


def test_an_object_with_data_whose_key_ends_in_a_slash_is_named_not_lost(s3, bucket, tmp_path):
    """Not a marker (it holds data), and fsspec opens such a key as its folder, reading
    nothing: said, with what to do, rather than read as empty."""
    _put_keys(bucket, {"crawl/sub/": _record("crawl/sub/"), "crawl/sub/a.jsonl": _record("crawl/sub/a.jsonl")})
    for url, out, source in ((f"s3://{bucket}/crawl/", "all", "sub/"), (f"s3://{bucket}/crawl/sub/", "sub", "sub/")):
        _, sources, problems = _run_accounted(url, "-o", tmp_path / out, "--format", "jsonl", objects=1)
        assert list(sources.values()) == ["crawl/sub/a.jsonl"]
        assert [(p["source"], p["problem"]) for p in problems] == [(source, "object key ends in '/'")]
        assert f"s3://{bucket}/crawl/sub/" in problems[0]["action"] and "copy it to a key" in problems[0]["action"]


def test_keys_with_dot_and_empty_segments_are_read_by_their_exact_key(s3, bucket, tmp_path):
    """In S3 a key is an opaque string: a/../d.jsonl is not d.jsonl, crawl//e.jsonl is not
    crawl/e.jsonl. Normalised, one object was read twice while another was lost, an
    object was looked up under a key it does not have, and one under '..' was a hidden
    folder. Each is read under its own key, named by it as written."""
    keys = ("crawl/a/../d.jsonl", "crawl/d.jsonl", "crawl//e.jsonl", "crawl/e.jsonl", "crawl/x/../../s.jsonl",
            "crawl/./f.jsonl", "crawl/.hidden/g.jsonl")
    _put_keys(bucket, {key: _record(key) for key in keys})
    _, sources, problems = _run_accounted(f"s3://{bucket}/crawl/", "-o", tmp_path / "out", objects=6)
    assert sources == {key.removeprefix("crawl/"): key for key in keys if ".hidden" not in key}
    assert [(p["source"], p["problem"]) for p in problems] == [(".hidden", "hidden folder skipped")]
    # Under a label (two inputs), the same keys as written after it.
    _put_keys(bucket, {"other/o.jsonl": _record("other/o.jsonl")})
    _, sources, _ = _run_accounted(f"s3://{bucket}/crawl", f"s3://{bucket}/other", "-o", tmp_path / "two",
                                   objects=7)
    assert sources == {**{key: key for key in keys if ".hidden" not in key}, "other/o.jsonl": "other/o.jsonl"}


def test_non_ascii_keys_and_urls_are_read_and_named_alike_in_every_locale(s3, bucket, tmp_path, other_locale):
    """Outside UTF-8 mode the command line's ``café`` is ``caf\\udcc3\\udca9`` (ASCII) or
    ``cafÃ©`` (Latin-1): handed to the store so, it named no object, and a listed key spelled
    through the locale's encoding crashed or changed. The store is asked for the URL's
    characters, and the output is the UTF-8 run's."""
    keys = ("café/naïve.jsonl", "café/b.jsonl", "café/zürich.jsonl", "other/İstanbul.jsonl")
    _put_keys(bucket, {key: _record(key) for key in keys})
    outputs = []
    for name, settings in (("utf8", UTF8_LOCALE), ("other", other_locale)):
        done = run_process("run", f"s3://{bucket}/café/", f"s3://{bucket}/other", "-o", tmp_path / name, "-q",
                           "--no-builtin-rules", env=locale_env(settings))
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == 0, done.stderr
        outputs.append(output_files(tmp_path / name))
    assert outputs[0] == outputs[1]
    sources = [orjson.loads(line)["source"] for line in outputs[0]["corpus/part-00000.jsonl"].splitlines()]
    assert sources == ["café/b.jsonl", "café/naïve.jsonl", "café/zürich.jsonl", "other/İstanbul.jsonl"]
