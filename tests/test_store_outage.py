"""A store that stops answering in the middle of a run (curate/outage.py).

Each remaining object cost half a second of retries and was quarantined as unreadable, and
the run ended with status 0: a whole corpus silently quarantined. Now the run stops with
one line naming the store, nothing quarantined for it, its finished chunks kept, and
--resume, once the store answers again, finishes it to the bytes of a run that never
met the outage. An object the store will not serve while it answers costs that object only.

The stores are real: moto's S3 server and Python's web server on localhost, made to die
after a given number of object reads (GETs with a Range: listings and HEADs are not
counted), so that where the run meets the outage is the same on every machine.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import orjson
import pytest
from conftest import output_files, run_process
from test_object_storage import _put_keys, _without_inputs, bucket, s3  # noqa: F401 - fixtures used by name
from test_readers import DOCUMENTS, _write_parquet, _write_wet
from test_signed_urls import SIGNED, _signed

OBJECTS = 32
RECORDS = 60  # of each object
RUN = ("-q", "--no-builtin-rules", "--chunk-docs", "100")
Store = TypeVar("Store")
POLL = 0.05  # seconds a stopped server takes to notice: its default, half a second, was most of a reader test
HUNG = 20  # seconds a hung store keeps a request before it drops it: longer than the timeouts its test sets
_WORDS = ("river", "stone", "lantern", "orchard", "violin", "harbour", "meadow", "copper", "thunder", "garden",
          "falcon", "silver", "bridge", "candle", "forest", "marble")


def _page(key: str, records: int = RECORDS, lines: int = 20) -> bytes:
    """JSONL records of lines of their own, about 100 kB: a run reads well ahead of what it
    writes (a batch is 256 kB, two workers have 8 in flight, the ids of 512 documents are
    checked at once), so objects this big let chunks be finished before the store dies."""
    def line(n: int) -> str:
        return " ".join(_WORDS[b % 16] for b in hashlib.sha256(f"{key}/{n}".encode()).digest()[:12])

    return b"".join(orjson.dumps({"id": f"{key}#{r}", "text": "\n".join(line(r * lines + k) for k in range(lines))})
                    + b"\n" for r in range(records))


class _Outage:
    """What a store does with each request: it answers the first ``answers`` object reads,
    then dies (``on_death`` stops its server, and every request after goes unanswered);
    ``cut`` names the objects whose reads it never answers while it is alive."""

    def __init__(self, answers: int | None = None, cut: frozenset[str] = frozenset(), hang: bool = False):
        self.answers = answers
        self.cut = cut
        self.hang = hang  # dead, it still accepts connections, and never answers on them
        self.reads = 0
        self.dead = False
        self.lock = threading.Lock()
        self.on_death = lambda: None

    def meets(self, method: str, path: str, ranged: bool) -> bool:
        """Whether this request goes unanswered: its connection cut, no status sent."""
        with self.lock:
            if self.dead:
                return True
            if method != "GET" or not ranged:
                return False
            if any(path.endswith(name) for name in self.cut):
                return True
            self.reads += 1
            if self.answers is not None and self.reads > self.answers:
                self.dead = True
                if not self.hang:
                    threading.Thread(target=self.on_death, daemon=True).start()
                return True
        return False


class _DyingS3:
    """moto's S3 server on a port of its own, serving the module's buckets (moto's state is
    the process's), which stops as ``outage`` says: its listening socket closed, so a new
    connection is refused, and each open connection cut before its answer."""

    def __init__(self, outage: _Outage, port: int = 0):
        from moto.moto_server.threaded_moto_server import MotoRequestHandler
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        moto = DomainDispatcherApplication(create_backend_app)

        def app(environ, start_response):
            if outage.meets(environ["REQUEST_METHOD"], environ["PATH_INFO"], "HTTP_RANGE" in environ):
                if outage.hang:
                    time.sleep(HUNG)
                environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
                raise ConnectionResetError("the store died")  # werkzeug drops the connection quietly
            return moto(environ, start_response)

        class Quiet(MotoRequestHandler):
            def log(self, *args) -> None:
                pass

        self.server = make_server("127.0.0.1", port, app, threaded=True, request_handler=Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        outage.on_death = self.stop
        threading.Thread(target=self.server.serve_forever, args=(POLL,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()  # serve_forever closes the listening socket as it ends


class _DyingFiles(http.server.SimpleHTTPRequestHandler):
    """Python's web server's files, read in ranges as a store's are (its own handler sends
    the whole file, which a reader that seeks, Arrow's, refuses), but a request
    ``outage`` says goes unanswered gets its connection closed with no status (HTTP/1.0:
    one connection per request)."""

    outage: _Outage

    def log_message(self, *args) -> None:
        pass

    def do_HEAD(self) -> None:
        if self.outage.meets("HEAD", self.path, ranged=False):
            self.close_connection = True
            return
        super().do_HEAD()

    def do_GET(self) -> None:
        wanted = self.headers.get("Range")
        if self.outage.meets("GET", self.path, ranged=wanted is not None):
            self.close_connection = True
            return
        path = Path(self.translate_path(self.path))
        if wanted is None or not path.is_file():
            super().do_GET()
            return
        data = path.read_bytes()
        first, _, last = wanted.removeprefix("bytes=").partition("-")
        start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end + 1 - start))
        self.end_headers()
        self.wfile.write(data[start:end + 1])


class _DyingWeb:
    """``folder`` served on localhost, dying as ``outage`` says: its listening socket closed."""

    def __init__(self, folder: Path, outage: _Outage, port: int = 0):
        handler = type("Files", (_DyingFiles,), {"outage": outage})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                                      functools.partial(handler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        outage.on_death = self.stop
        threading.Thread(target=self.server.serve_forever, args=(POLL,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _back(start: Callable[[int], Store], port: int) -> Store:
    """The store started again where it was, or on another port if that one was taken
    meanwhile (tests run side by side): the inputs' fingerprint holds no endpoint, and a
    web URL's port is in no source, so --resume goes on all the same."""
    try:
        return start(port)
    except (OSError, SystemExit):  # werkzeug exits when its port is taken
        return start(0)


def _stopped_once(result, store: str) -> None:
    """The stop: status 1, one line naming the store, what is kept and --resume; no traceback."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: {store} stopped answering (connection refused): reading "), lines[0]
    assert "got no answer, nor did 2 more questions to the store, 1 s apart, so no input was quarantined for it" \
        in lines[0], lines[0]
    assert "finished chunks are kept in " in lines[0] and "run the same command with --resume" in lines[0]


def _nothing_quarantined_for_it(out: Path) -> None:
    """Chunks were finished before the stop, and none quarantined anything (the inputs
    hold no problem: any would be the outage's)."""
    partial = out / ".partial"
    assert list(partial.glob("*.done")), sorted(p.name for p in partial.iterdir())
    kept = sorted(partial.glob("*.quarantine.jsonl"))
    assert kept and b"".join(part.read_bytes() for part in kept) == b""


@pytest.fixture
def crawl(s3, bucket) -> str:  # noqa: F811 - the fixtures imported above
    _put_keys(bucket, {f"crawl/{k:03d}.jsonl": _page(f"crawl/{k:03d}.jsonl") for k in range(OBJECTS)})
    return f"s3://{bucket}/crawl"


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_bucket_that_stops_answering_mid_run_stops_it_and_resume_finishes_it(crawl, tmp_path, workers):
    command = ["run", crawl, "-o", tmp_path / "out", *RUN, "--workers", workers]
    counting = _Outage()
    whole = _DyingS3(counting)
    try:
        reference = run_process(*command[:3], tmp_path / "reference", *command[4:],
                                env={**os.environ, "AWS_ENDPOINT_URL": whole.url})
    finally:
        whole.stop()
    assert reference.returncode == 0, reference.stderr
    store = _DyingS3(_Outage(answers=counting.reads - 2))  # late: a run reads a few MB ahead of what it writes
    env = {**os.environ, "AWS_ENDPOINT_URL": store.url}
    stopped = run_process(*command, env=env)
    bucket_name = crawl.removeprefix("s3://").split("/")[0]
    _stopped_once(stopped, f"the store s3://{bucket_name} at {store.url} (AWS_ENDPOINT_URL)")
    assert f"reading {crawl}/0" in stopped.stderr
    _nothing_quarantined_for_it(tmp_path / "out")

    again = _back(lambda port: _DyingS3(_Outage(), port), store.server.server_address[1])
    try:
        resumed = run_process(*command, "--resume", env={**env, "AWS_ENDPOINT_URL": again.url})
    finally:
        again.stop()
    assert resumed.returncode == 0, resumed.stderr
    assert output_files(tmp_path / "out") == output_files(tmp_path / "reference")


def test_an_object_the_store_never_answers_for_costs_that_object_only(crawl, tmp_path):
    """The store answers (its bucket, the other objects): the failure is the object's."""
    store = _DyingS3(_Outage(cut=frozenset({"/crawl/007.jsonl"})))
    out = tmp_path / "out"
    try:
        done = run_process("run", crawl, "-o", out, *RUN, env={**os.environ, "AWS_ENDPOINT_URL": store.url})
    finally:
        store.stop()
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    problems = [orjson.loads(line) for line in (out / "quarantine.jsonl").read_bytes().splitlines()]
    assert [p["source"] for p in problems] == ["007.jsonl"], problems
    assert problems[0]["problem"].startswith(f"read error: {crawl}/007.jsonl: "), problems[0]
    summary = orjson.loads((out / "summary.json").read_bytes())
    assert summary["documents"]["read"] == (OBJECTS - 1) * RECORDS


@pytest.mark.slow
def test_a_bucket_that_accepts_and_never_answers_stops_the_run_after_its_timeouts(crawl, tmp_path):
    """The read times out (three tries), then each question to the store (one try, the
    connect timeout to answer): a hung server stops the run in seconds past its timeouts."""
    store = _DyingS3(_Outage(answers=0, hang=True))
    started = time.monotonic()
    try:
        stopped = run_process("run", crawl, "-o", tmp_path / "out", *RUN, env={
            **os.environ, "AWS_ENDPOINT_URL": store.url, "CURATE_CONNECT_TIMEOUT": "1", "CURATE_READ_TIMEOUT": "1"})
    finally:
        store.stop()
    assert stopped.returncode == 1 and "Traceback" not in stopped.stderr, stopped.stderr
    assert "stopped answering (no answer within CURATE_CONNECT_TIMEOUT or CURATE_READ_TIMEOUT seconds): reading " \
        f"{crawl}/000.jsonl got no answer, nor did 2 more questions" in stopped.stderr, stopped.stderr
    assert time.monotonic() - started < HUNG


def _formats(folder: Path) -> list[str]:
    """A file of each format curate reads, in ``folder``."""
    records = b"".join(orjson.dumps(doc) + b"\n" for doc in DOCUMENTS)
    (folder / "a.jsonl").write_bytes(records)
    (folder / "b.jsonl.gz").write_bytes(gzip.compress(records, mtime=0))
    (folder / "c.json").write_bytes(orjson.dumps(DOCUMENTS))
    (folder / "d.txt").write_text(DOCUMENTS[0]["text"] + "\n")
    (folder / "e.csv").write_bytes(b"id,text\n" + b"".join(
        b'%d,"%s"\n' % (k, doc["text"].replace('"', '""').encode()) for k, doc in enumerate(DOCUMENTS)))
    _write_parquet(folder / "f.parquet")
    _write_wet(folder / "g.warc.wet.gz")
    import pyarrow as pa
    import pyarrow.feather as feather

    feather.write_feather(pa.table({"text": [doc["text"] for doc in DOCUMENTS]}), folder / "h.arrow",
                          compression="uncompressed")
    return sorted(path.name for path in folder.iterdir())


@pytest.fixture(scope="module")
def formats(tmp_path_factory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("formats")
    return folder, _formats(folder)


@pytest.fixture
def quick(monkeypatch) -> None:
    """No pause between the questions to a store (the CLI tests keep the real one)."""
    import curate.outage

    monkeypatch.setattr(curate.outage, "PAUSE", 0.0)


@pytest.mark.unit
@pytest.mark.parametrize("name", ["a.jsonl", "b.jsonl.gz", "c.json", "d.txt", "e.csv", "f.parquet", "g.warc.wet.gz",
                                  "h.arrow"])
@pytest.mark.parametrize("at", ["open", "first", "last"])
def test_every_reader_stops_on_a_web_server_gone_as_it_opens_or_reads_the_file(formats, name, at, quick):
    """Every reader's handling of an unreadable file meets the outage, as it opens the
    object (its HEAD), at its first read or at its last (an Arrow file's batches, after
    its footer), and stops the run instead of quarantining the file."""
    from curate.discover import discover
    from curate.document import Problem
    from curate.errors import MachineLimit
    from curate.formats import read_documents

    folder, _ = formats
    outage = _Outage()
    server = _DyingWeb(folder, outage)
    try:
        found = discover([f"{server.url}/{name}"])
        before = outage.reads
        assert not [item for item in read_documents(found.files) if isinstance(item, Problem)]
        reads = outage.reads - before
        outage.answers = outage.reads + (0 if at == "first" else reads - 1)
        outage.dead = at == "open"
        with pytest.raises(MachineLimit) as stop:
            list(read_documents(found.files))
    finally:
        server.stop()
    assert str(stop.value).startswith(f"the web server {server.url} stopped answering ("), stop.value
    assert f"): reading {server.url}/{name} got no answer, nor did 2 more questions" in str(stop.value)


@pytest.mark.unit
def test_an_object_deleted_from_a_web_server_still_answering_costs_that_object_only(tmp_path, quick):
    from curate.discover import discover
    from curate.formats import read_documents

    for k in range(3):
        (tmp_path / f"doc-{k}.jsonl").write_bytes(orjson.dumps(DOCUMENTS[k]) + b"\n")
    server = _DyingWeb(tmp_path, _Outage())
    try:
        found = discover([f"{server.url}/"])
        (tmp_path / "doc-1.jsonl").unlink()
        items = list(read_documents(found.files))
    finally:
        server.stop()
    assert [type(item).__name__ for item in items] == ["RawDocument", "Problem", "RawDocument"]
    assert items[1].source == "doc-1.jsonl" and "does not exist" in items[1].problem, items[1]


@pytest.mark.slow
def test_a_web_server_that_stops_stops_the_run_and_resume_with_the_urls_signed_again_finishes_it(tmp_path):
    """Presigned URLs, two workers: a run stopped by its server resumes with the URLs
    signed anew (the first signature may have expired meanwhile), since the output and
    the fingerprint of the inputs hold no signature."""
    folder = tmp_path / "www"
    folder.mkdir()
    for k in range(OBJECTS):
        (folder / f"doc-{k:03d}.jsonl").write_bytes(_page(f"doc-{k:03d}.jsonl"))

    def run(server: _DyingWeb, signing: int, out: str, *extra: str):
        urls = [_signed(f"{server.url}/doc-{k:03d}.jsonl", signing) for k in range(OBJECTS)]
        return run_process("run", *urls, "-o", tmp_path / out, *RUN, "--workers", "2", *extra)

    counting = _Outage()
    whole = _DyingWeb(folder, counting)
    try:
        reference = run(whole, 0, "reference")
    finally:
        whole.stop()
    assert reference.returncode == 0, reference.stderr
    server = _DyingWeb(folder, _Outage(answers=counting.reads - 2))
    stopped = run(server, 0, "out")
    _stopped_once(stopped, f"the web server {server.url}")
    assert SIGNED[0][3] not in stopped.stderr  # the signature: the stop names the object without it
    _nothing_quarantined_for_it(tmp_path / "out")
    again = _back(lambda port: _DyingWeb(folder, _Outage(), port), server.server.server_address[1])
    try:
        resumed = run(again, 1, "out", "--resume")
    finally:
        again.stop()
    assert resumed.returncode == 0, resumed.stderr
    done, reference = output_files(tmp_path / "out"), output_files(tmp_path / "reference")
    # The reference was read from another port: only the inputs' roots say so.
    assert _without_inputs(done.pop("summary.json")) == _without_inputs(reference.pop("summary.json"))
    assert done == reference
