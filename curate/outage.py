"""A store that stops answering in the middle of a run.

An object that cannot be read costs that object only: it is quarantined (a missing key, a
refused credential, corrupt data), and the run goes on. But when the store itself goes
away (its server stopped, the network dropped) every object after it fails, each after
the store library's retries (about half a second), and a run that quarantined them all
ended with status 0, a whole corpus quarantined as unreadable.

So a read that got no answer at all (a refused, cut or timed-out connection: not an
HTTP status, which is an answer) is not taken as the object's fault before the store is
asked again: ``PROBES`` more times, ``PAUSE`` seconds apart, a question every store
answers (its bucket, or its web server's root). If it answers one, the failure was the
object's, which alone is quarantined. If it answers none, three questions in a row
without an answer, the store is taken as gone: StoreGone, which every reader's handling
of an unreadable input (formats.base.stop_on_machine_limit, through
errors.machine_limit) makes the run's stop, as a limit of the machine is: nothing is
quarantined for it, the finished chunks are kept, and the message names the store and
advises --resume once it answers again.

The rule asks the store itself, for each failed object, instead of counting failures
across objects: so it is the same however many workers read, and however their reads
interleave, and the object that met the outage is never quarantined (a count would have
quarantined the first ones, and a resumed run would keep them so).
"""

from __future__ import annotations

import os
import socket
import time
from urllib.parse import urlsplit

from curate.errors import StoreGone
from curate.signed_urls import public_text

PROBES = 2  # questions to the store after a read that got no answer: three in a row unanswered stop the run
PAUSE = 1.0  # seconds before each: a store restarting, or a network that drops for an instant, answers again

# The exceptions of the store libraries that mean no answer came, by module and class
# name (so that none of them is imported to be told): botocore's ConnectionError
# (refused, connect timeout) and HTTPClientError (read timeout, connection closed, a
# body cut off), aiohttp's ClientConnectionError (refused, disconnected, timeouts) and
# ClientPayloadError (a body cut off), requests' and httpx's (gcsfs, huggingface_hub).
_NO_ANSWER = frozenset({
    ("botocore.exceptions", "ConnectionError"), ("botocore.exceptions", "HTTPClientError"),
    ("aiohttp.client_exceptions", "ClientConnectionError"), ("aiohttp.client_exceptions", "ClientPayloadError"),
    ("requests.exceptions", "ConnectionError"), ("requests.exceptions", "Timeout"),
    ("httpx", "TransportError"), ("http.client", "IncompleteRead"), ("urllib3.exceptions", "ProtocolError"),
})


def no_answer(err: BaseException) -> BaseException | None:
    """The exception in ``err``'s chain (itself, its causes and contexts) that says the
    store gave no answer, else None."""
    seen: BaseException | None = err
    for _ in range(64):  # a chain that loops on itself ends too
        if seen is None:
            return None
        if isinstance(seen, ConnectionError | TimeoutError | socket.gaierror) or any(
                (kind.__module__, kind.__name__) in _NO_ANSWER for kind in type(seen).__mro__):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def check_store(url: str, err: BaseException) -> None:
    """Raise StoreGone if reading ``url`` failed with no answer from its store, and the
    store answers none of PROBES more questions; return if the failure was another (the
    object's own) or the store answers."""
    if no_answer(err) is None:
        return
    silence: BaseException | None = None
    for _ in range(PROBES):
        time.sleep(PAUSE)
        silence = unanswered(url)
        if silence is None:
            return
    assert silence is not None
    raise StoreGone(f"{store_name(url)} stopped answering ({_why(silence)}): reading {public_text(url)} got no "
                    f"answer, nor did {PROBES} more questions to the store, {PAUSE:g} s apart, so no input was "
                    "quarantined for it (check that the store is up and reachable)") from err


def unanswered(url: str) -> BaseException | None:
    """What kept the store of ``url`` from answering a question, or None if it answered,
    whatever the answer (an error status is one: a bucket this key may not look at, a
    web server without a page at /)."""
    from curate.storage import filesystem, protocol_of  # storage calls this module

    try:
        fs, path = filesystem(url, quick=True)  # one try, answered within the connect timeout
        protocol = protocol_of(url)
        if protocol in ("s3", "s3a"):
            fs.call_s3("head_bucket", Bucket=path.split("/", 1)[0])
        elif protocol in ("http", "https"):
            fs.info(_origin(url) + "/")
        else:
            fs.info(path.split("/", 1)[0])
    except Exception as err:  # noqa: BLE001 - any answer but none is an answer
        return no_answer(err)
    return None


def store_name(url: str) -> str:
    """The store of ``url``, for a message: a bucket (with the endpoint the S3 settings
    name, where one is set) or a web server."""
    from curate.storage import protocol_of

    protocol = protocol_of(url)
    if protocol in ("http", "https"):
        return f"the web server {_origin(url)}"
    bucket = url.split("://", 1)[1].split("/", 1)[0]
    endpoint = os.environ.get("AWS_ENDPOINT_URL") if protocol in ("s3", "s3a") else None
    where = f" at {endpoint} (AWS_ENDPOINT_URL)" if endpoint else ""
    return f"the store {protocol}://{bucket}{where}"


def _origin(url: str) -> str:
    """A web URL's scheme, host and port: no user or password, no path, no query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _why(failure: BaseException) -> str:
    """What went wrong, in a few words: said by the most telling error of the chain (a
    library's wraps the socket's)."""
    seen: BaseException | None = failure
    for _ in range(64):
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "host name not found"
        if isinstance(seen, TimeoutError) or "timeout" in type(seen).__name__.lower():
            return "no answer within CURATE_CONNECT_TIMEOUT or CURATE_READ_TIMEOUT seconds"
        if isinstance(seen, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
            return "connection cut"
        seen = seen.__cause__ or seen.__context__
    return f"connection lost: {public_text(str(failure)) or type(failure).__name__}"
