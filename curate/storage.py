"""Where data lives: a local path, or a URL (``s3://``, ``gs://``, ``hf://``,
``http(s)://``) read and written through fsspec.

Local files keep their own careful path (``formats.base.open_regular``: regular files
only, never a blocking pipe); everything remote goes through this module, so that
every failure of a remote store (a missing object, a refused credential, a dropped
connection) reaches the readers as an ``OSError`` they quarantine, or the user as a
``UsageError`` that says what to do, never as a library's traceback.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, BinaryIO

from curate.errors import UsageError
from curate.signed_urls import public_text, public_url
from curate.walk import walk_folders

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

# A local path, or a URL kept as the user spelled it: as the system decoded its bytes (the
# command line, --inputs-from), as a local path is. See store_url.
Location = Path | str

# The package fsspec needs for each protocol, and the extra of curate-corpus that installs it.
PROTOCOL_EXTRAS = {"s3": ("s3fs", "s3"), "s3a": ("s3fs", "s3"), "gs": ("gcsfs", "gcs"), "gcs": ("gcsfs", "gcs"),
                   "hf": ("huggingface_hub", "hf"), "http": ("aiohttp", "http"), "https": ("aiohttp", "http")}
LOCAL_PROTOCOLS = frozenset({"file", "local"})
# The stores curate reads, and those it writes (a web server takes no uploads). fsspec knows
# many more (ftp, sftp, zip, memory, ...): they are refused before fsspec is asked, since
# curate was never tested on them, and some connect as they are named, failing with a
# library's traceback instead of a message.
READABLE_PROTOCOLS = frozenset(PROTOCOL_EXTRAS)
WRITABLE_PROTOCOLS = READABLE_PROTOCOLS - {"http", "https"}
# Object stores, whose keys are strings, not paths: one name may be an object and a folder
# at once. (A web server answers any folder's URL with a page; a Hugging Face repository is
# a git tree, where a name is one or the other.)
KEYED_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs"})
READABLE_NAMES = "s3://, gs://, hf://, http:// and https://"
WRITABLE_NAMES = "s3://, gs:// or hf://"
# A scheme (RFC 3986's letters), or fsspec's chain of them (simplecache::s3://...), before ://.
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.\-_]*)(?:::[A-Za-z][A-Za-z0-9+.\-_]*)*://")
READ_BLOCK = 8 << 20  # bytes fetched per request: few round trips, bounded memory per open file


def protocol_of(location: Location) -> str:
    """``s3`` for ``s3://bucket/key`` (the first of a chain's); ``file`` for a local path,
    spelled with file:// or not."""
    if isinstance(location, PurePath):
        return "file"
    spelled = _URL.match(location)
    return spelled.group(1).lower() if spelled else "file"


# Two spellings of one store (fsspec opens s3a:// with the S3 file system, gcs:// with GCS's).
_SAME_STORE = {"s3a": "s3", "gcs": "gs"}


def comparable_url(url: str) -> str:
    """The URL as two URLs of one object or folder compare equal: its scheme lower-cased
    and spelled once (``s3a://`` is ``s3://``), a web server's host lower-cased, without
    trailing '/'s. A key is
    otherwise as written (keys are strings: ``a//b`` is not ``a/b``). For telling whether
    inputs and the output overlap, never for asking a store."""
    spelled = _URL.match(url)
    if spelled is None or "::" in spelled.group(0):
        return url.rstrip("/") or url
    protocol = spelled.group(1).lower()
    rest = url[spelled.end():]
    if protocol in ("http", "https"):
        # A presigned URL signed again names the same object: compared without its signature.
        host, slash, path = public_url(f"http://{rest}").removeprefix("http://").partition("/")
        rest = host.lower() + slash + path
    rest = rest.rstrip("/")
    return f"{_SAME_STORE.get(protocol, protocol)}://{rest}"


def is_remote(location: Location) -> bool:
    """A URL, not a local path: any scheme but file://, and any chain of stores (which
    location_problem refuses, as a URL, not as a missing file)."""
    if isinstance(location, PurePath):
        return False
    spelled = _URL.match(location)
    return spelled is not None and (spelled.group(1).lower() not in LOCAL_PROTOCOLS or "::" in spelled.group(0))


def as_location(text: str | os.PathLike) -> Location:
    """What the user typed: a URL stays a string (a Path would fold ``s3://`` into
    ``s3:/``); ``file://`` and everything else become a local Path."""
    if isinstance(text, PurePath):
        return Path(text)
    spelled = str(text)
    if is_remote(spelled):
        return spelled
    scheme = f"{protocol_of(spelled)}://"
    return Path(spelled[len(scheme):] if spelled.lower().startswith(scheme) else spelled)


def location_problem(location: Location, output: bool = False) -> str | None:
    """Why curate cannot read this location (or, for ``output``, write it), or None: said
    before fsspec is asked, and before anything is read or staged."""
    if not isinstance(location, str) or not is_remote(location):
        return None
    protocol = protocol_of(location)
    takes = (f"-o takes a local folder or an {WRITABLE_NAMES} URL" if output
             else f"it reads local paths and {READABLE_NAMES} URLs: copy the files to one of those first")
    if "::" in location:  # fsspec would read it as a chain of stores (zip://a::s3://b.zip)
        if re.search(r"//\[[0-9A-Fa-f:.]*::", location):  # http://[::1]:8000/: fsspec splits it all the same
            return (f"{location}: an IPv6 address with :: in a URL, which fsspec reads as a chain of stores; "
                    f"give the host by name (e.g. localhost) or with its zeros written out; {takes}")
        return f"{location}: a chained URL (with ::), which curate does not take; {takes}"
    if output and protocol in READABLE_PROTOCOLS - WRITABLE_PROTOCOLS:
        return f"{location}: curate reads {protocol}:// but cannot write there (a web server takes no uploads); {takes}"
    if protocol not in (WRITABLE_PROTOCOLS if output else READABLE_PROTOCOLS):
        return f"{location}: curate does not {'write' if output else 'read'} {protocol}:// URLs; {takes}"
    return None


def check_location(location: Location, output: bool = False) -> None:
    """UsageError if curate cannot read (or, for ``output``, write) the location."""
    problem = location_problem(location, output)
    if problem is not None:
        raise UsageError(problem)


def store_url(url: str) -> str:
    """The URL as a store is asked for it. A URL is kept as the system spelled its bytes
    (os.fsdecode), as a local path is: outside UTF-8 mode that is not the text typed
    (``café`` is ``caf\\udcc3\\udca9`` under LC_ALL=C, ``cafÃ©`` under Latin-1). A URL's
    characters are UTF-8 (RFC 3986, 3987), so its bytes are decoded as UTF-8 here, the same
    whatever the locale. A str that holds characters the system's encoding has not (one
    given to the API, not read from the system) is taken as written."""
    return _decoded(url, "surrogateescape")


def url_text(url: str) -> str:
    """A URL, or a file's name, as the output spells it (discover.source_name is this): its
    characters, and each byte that is not UTF-8 as ``\\xNN``; the same whatever the locale.
    A web URL is without the credentials of a signed URL (signed_urls.public_url): they
    are secrets, and change each time the same URL is signed."""
    return _decoded(public_url(url), "backslashreplace")


def _decoded(url: str, errors: str) -> str:
    try:
        raw = os.fsencode(url)
    except UnicodeEncodeError:
        return url
    return raw.decode("utf-8", errors)


def system_spelled(name: str) -> str:
    """A name a store lists (its characters) spelled as the system spells a URL given on
    the command line, so that it joins one: store_url turns it back."""
    try:
        return os.fsdecode(name.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:  # a lone surrogate no store should list: as it is
        return name


def spelled_bytes(name: str) -> bytes:
    """The bytes of a name spelled as the system spells them: what a walk sorts by."""
    try:
        return os.fsencode(name)
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogatepass")


def base_name(location: Location) -> str:
    """The last component of a path or URL: what a reader's suffix is matched against. A
    web URL's query and fragment are no part of it (``doc.jsonl?X-Amz-Signature=...``)."""
    if not isinstance(location, str):
        return Path(location).name
    if protocol_of(location) in ("http", "https"):
        location = re.split(r"[?#]", location, maxsplit=1)[0]
    return posixpath.basename(location.rstrip("/"))


def join(location: str, name: str) -> str:
    return location.rstrip("/") + "/" + name


def install_hint(protocol: str) -> str:
    package, extra = PROTOCOL_EXTRAS.get(protocol, (None, "remote"))
    needs = f"{package}, " if package else ""
    return f"{protocol}:// needs {needs}installed by: pip install 'curate-corpus[{extra}]'"


CONNECT_TIMEOUT_ENV = "CURATE_CONNECT_TIMEOUT"
READ_TIMEOUT_ENV = "CURATE_READ_TIMEOUT"
CONNECT_TIMEOUT = 10.0  # seconds to connect to a store
READ_TIMEOUT = 60.0  # seconds a store may stay silent in the middle of a request
# Tries of one S3 request (botocore's "standard" retries, with backoff: throttling, 5xx,
# timeouts). Three is that mode's own default, what AWS advises against SlowDown at scale;
# s3fs retried each botocore call 5 times more, so that a server that never answered kept
# a run silent for 5 to 7 minutes: its own loop is made one try (filesystem).
S3_TRIES = 3


def timeouts() -> tuple[float, float]:
    """(connect, read) timeouts in seconds: $CURATE_CONNECT_TIMEOUT and $CURATE_READ_TIMEOUT,
    else 10 and 60. UsageError for a value that is no positive number."""
    values = []
    for env, default in ((CONNECT_TIMEOUT_ENV, CONNECT_TIMEOUT), (READ_TIMEOUT_ENV, READ_TIMEOUT)):
        given = os.environ.get(env, "").strip()
        try:
            value = float(given) if given else default
        except ValueError:
            value = -1.0
        if not 0 < value < float("inf"):
            raise UsageError(f"{env}={given}: not a number of seconds above 0; set it to one (the default is "
                             f"{default:g}) or unset it")
        values.append(value)
    return values[0], values[1]


def _store_options(protocol: str, quick: bool = False) -> dict:
    """The timeouts of ``timeouts()`` as the store's fsspec options, under what the user's
    fsspec configuration (FSSPEC_S3='{"config_kwargs": {...}}', ~/.config/fsspec) sets,
    which wins: fsspec lets an option passed here replace the configured one whole. With
    ``quick``, one try, answered within the connect timeout (see filesystem)."""
    if protocol not in ("s3", "s3a", "http", "https"):
        return {}
    import fsspec.config

    configured = {**fsspec.config.conf.get("http" if protocol.startswith("http") else "s3", {}),
                  **fsspec.config.conf.get(protocol, {})}
    connect, read = timeouts()
    if quick:
        read = connect
    if protocol in ("s3", "s3a"):
        config = {"connect_timeout": connect, "read_timeout": read,
                  "retries": {"mode": "standard", "total_max_attempts": 1 if quick else S3_TRIES}}
        return {"config_kwargs": {**config, **configured.get("config_kwargs", {})}}
    import aiohttp

    # No limit on a whole request (aiohttp's default, 5 minutes, would cut a long read).
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)
    return {"client_kwargs": {"timeout": timeout, **configured.get("client_kwargs", {})}}


def filesystem(url: str, quick: bool = False) -> tuple[AbstractFileSystem, str]:
    """The fsspec filesystem for ``url`` and the path inside it. Credentials and endpoints
    come from the store's usual settings (for S3: AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL,
    ~/.aws/config, ...; any fsspec option also as FSSPEC_<PROTOCOL>_<OPTION>, or all of a
    store's as FSSPEC_<PROTOCOL>='{"option": ...}'). An S3 or web store gets a connect and a
    read timeout (``timeouts()``; fsspec's own settings of them win), so that a server that
    accepts and never answers stops the run with a message, not minutes of silence. The
    path is the store's (store_url): the URL's characters, not the system's spelling of them.
    ``quick``: a file system that asks once and waits no longer than the connect timeout
    for an answer, for questions whose answer is only whether one comes (outage.py)."""
    check_location(url)
    protocol = protocol_of(url)
    try:
        import fsspec
    except ImportError as err:  # pragma: no cover - fsspec is a dependency of curate itself
        raise UsageError(f"{url}: {install_hint(protocol)}") from err
    try:
        fs, path = fsspec.core.url_to_fs(store_url(url), **_store_options(protocol, quick))
    except ImportError as err:
        raise UsageError(f"{url}: {install_hint(protocol)}") from err
    if protocol in ("s3", "s3a"):
        fs.retries = 1  # botocore retries (S3_TRIES); s3fs's loop around it multiplied them
    return fs, path


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    url: str  # the object's full URL, for opening
    relative: str  # its path below the root given, forward slashes ("" for the root itself)
    size: int
    stamp: str  # what changes when the object does (ETag, else modification time): for --resume


def remote_failure(url: str, err: BaseException, doing: str) -> UsageError:
    """A store that cannot be reached, or refuses us, stops a run before it starts."""
    what = err.strerror if isinstance(err, OSError) and err.strerror else str(err) or type(err).__name__
    if isinstance(err, TimeoutError) or "timeout" in f"{type(err).__name__} {what}".lower():
        what = f"{what}: no answer within the timeout, {CONNECT_TIMEOUT_ENV} or {READ_TIMEOUT_ENV} seconds"
    return UsageError(f"{url}: cannot {doing} ({what}); check the URL, the credentials (for S3: "
                      "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL) and the network")


def list_remote(url: str) -> tuple[bool, list[RemoteEntry]]:
    """(is it a folder, every object at or below ``url``), sorted by relative path.
    UsageError if nothing is there or the store cannot be listed.

    In a bucket a key is an opaque string: ``a/../d.jsonl``, ``./f.jsonl`` and ``/e.jsonl``
    (from ``crawl//e.jsonl``) are objects of their own, beside ``d.jsonl`` and ``e.jsonl``. So
    each entry keeps its key as listed, below the prefix, and is opened by that key: a
    normalised path would read another object, or none. An empty object whose key ends in
    '/' (the marker a console's "Create folder" leaves) is a folder, not a file, and is
    left out, as an empty folder on disk holds no file."""
    try:
        fs, root = filesystem(url)  # inside: a store's file system may connect as it is made
        web_file = _web_file(fs, root, url)
        if web_file is not None:
            found = {root: web_file}
            folder = False
        elif fs.isdir(root):
            found = fs.find(root, detail=True)
            folder = True
        elif fs.isfile(root):
            found = {root: fs.info(root)}
            folder = False
        else:
            raise UsageError(f"{url}: no such file or folder; check the URL")
    except UsageError:
        raise
    except Exception as err:
        raise remote_failure(url, err, "list it") from err
    if protocol_of(url) not in KEYED_PROTOCOLS:
        # A web server's folder is listed by its URL as given, '/' and all (fsspec strips a
        # bucket path's): its files are below the folder, not below "folder/".
        root = root.rstrip("/") or root
    entries = []
    for name, info in found.items():
        size = int(info.get("size") or 0)
        if info.get("type") == "directory" or (folder and _folder_marker(name, size)):
            continue
        # Spelled as the URL given is (system_spelled), which it is joined to.
        relative = system_spelled(_below(name, root)) if folder else ""
        full = join(url, relative) if folder else url
        entries.append(RemoteEntry(full, relative, size, _stamp(info)))
    entries.sort(key=lambda e: spelled_bytes(e.relative))
    return folder, entries


def _web_file(fs: AbstractFileSystem, root: str, url: str) -> dict | None:
    """The info of a web URL that is a file, told without asking whether it is a folder,
    else None. fsspec tells a web folder by GETting the URL and reading its links: a file
    served without a Content-Type (or as text/html) was read whole into memory as a page
    (a 194 MB file took 606 MB) and then fetched again to be read. So a URL whose name has
    a suffix curate reads is a file, and so is one whose HEAD says it is no page; only
    the rest is listed as a folder."""
    if protocol_of(url) not in ("http", "https") or root.endswith("/"):
        return None
    from curate.formats import reader_for  # curate.formats reads files through this module

    try:
        info = fs.info(root)  # a HEAD (or a GET whose body is not read)
    except FileNotFoundError as err:  # fsspec's word for any failed HEAD and GET: a 500 is said as one
        cause = err.__cause__  # None for fsspec's own 404; a timeout, a refused connection, a 5xx...
        if cause is None or getattr(cause, "status", None) in (404, 410):
            raise UsageError(f"{url}: no such file or folder; check the URL") from None
        raise remote_failure(url, cause, "list it") from err
    if reader_for(url) is not None or info.get("mimetype") not in (None, "text/html"):
        return info
    return None


def _folder_marker(name: str, size: int) -> bool:
    """An empty object whose key ends in '/': a folder made in a console, no file."""
    return size == 0 and name.endswith("/")


def _below(name: str, root: str) -> str:
    """An object's key below the folder listed, as written: never normalised (see
    list_remote). ``root`` is the folder's path without its trailing '/'s, which the
    listing's names all start with; "" for an object named as the folder itself (with a
    trailing '/', or a store's lone object)."""
    return name[len(root) + 1:] if name.startswith(root + "/") else ""


def object_at(url: str) -> RemoteEntry | None:
    """The object named exactly ``url``, when ``url`` is also a folder (keys ``x.jsonl``
    and ``x.jsonl/a.jsonl``): listing the folder does not show it. None if there is none.
    UsageError if the store cannot be asked, as for list_remote."""
    if protocol_of(url) not in KEYED_PROTOCOLS:
        return None
    try:
        fs, path = filesystem(url)
        # Asked afresh: listing the folder cached its name as a folder, hiding the object.
        fs.invalidate_cache(path)
        info = fs.info(path)
    except FileNotFoundError:
        return None
    except UsageError:
        raise
    except Exception as err:
        raise remote_failure(url, err, "list it") from err
    if info.get("type") != "file":
        return None
    return RemoteEntry(url, "", int(info.get("size") or 0), _stamp(info))


def _stamp(info: dict) -> str:
    for key in ("ETag", "etag", "md5Hash", "md5", "mtime", "LastModified", "last_modified", "updated"):
        if info.get(key) is not None:
            return f"{key}={info[key]}"
    return ""


class _Translated(io.RawIOBase):
    """A remote file whose every failure is an OSError: a reader quarantines an OSError
    and goes on, while a store's own exception types would end the run with a traceback.
    A failure that got no answer from the store may instead stop the run (_unreadable)."""

    def __init__(self, raw: BinaryIO, url: str):
        self._raw = raw
        self._url = url

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._raw.read(len(buffer))
        except Exception as err:
            raise _unreadable(self._url, err) from err
        buffer[:len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        try:
            return self._raw.seek(offset, whence)
        except Exception as err:
            raise _unreadable(self._url, err) from err

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a file only read from loses nothing
            self._raw.close()
        super().close()


def open_remote(url: str) -> BinaryIO:
    """Open an object for reading; OSError if it cannot be (StoreGone, which stops the
    run, if its store stopped answering)."""
    try:
        fs, path = filesystem(url)
        # Asked afresh, not from the listing's cache: where a key is an object and a folder
        # too (x.jsonl, x.jsonl/a.jsonl) the cache may hold the folder under its name, and
        # the object would open as an empty file, its lines lost without a word.
        fs.invalidate_cache(path)
        raw = fs.open(path, "rb", block_size=READ_BLOCK)
    except UsageError as err:
        raise OSError(public_text(str(err))) from err
    except Exception as err:
        raise _unreadable(url, err) from err
    return io.BufferedReader(_Translated(raw, url), buffer_size=1 << 16)


def _unreadable(url: str, err: Exception) -> OSError:
    """The OSError a reader quarantines for an object that could not be opened or read,
    its words without a signed URL's secrets (a library's message may hold the URL it
    asked). First, a failure that got no answer from the store is checked: StoreGone if
    the store stopped answering (outage.check_store)."""
    from curate.outage import check_store, no_answer  # it asks the store through this module

    check_store(url, err)
    # fsspec says FileNotFoundError for any failed request to a web server, its cause the
    # status (or the connection's error): only a 404 or 410, or a store's own "no such
    # key", is an object that is not there; the rest is said by its cause.
    if isinstance(err, FileNotFoundError):
        status = getattr(err.__cause__, "status", 404)
        if no_answer(err) is None and status in (404, 410):
            return FileNotFoundError(errno.ENOENT, "the object does not exist (deleted since it was listed?)",
                                     url_text(url))
        return OSError(public_text(f"{url_text(url)}: {err.__cause__ or err}"))
    if isinstance(err, OSError) and err.errno is not None and err.strerror:
        return OSError(err.errno, public_text(err.strerror))  # of the same kind: OSError picks it by errno
    if isinstance(err, OSError):
        return OSError(public_text(str(err)))
    return OSError(public_text(f"{url_text(url)}: {err}"))


def check_output_bucket(url: str) -> None:
    """UsageError if the bucket of an output URL does not exist: said before the run, not
    by the first upload once it is over. Asked of S3 only (HEAD on the bucket, one
    request); a store that cannot be reached is said at once, while one that refuses the
    question (a key allowed to write a prefix, not to look at the bucket) is left to the
    listing that follows, which says what it refuses."""
    if protocol_of(url) not in ("s3", "s3a"):
        return
    try:
        fs, path = filesystem(url)
        bucket = path.split("/", 1)[0]
        fs.call_s3("head_bucket", Bucket=bucket)
    except FileNotFoundError:
        scheme = url.split("://", 1)[0]
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        where = f" at {endpoint} (AWS_ENDPOINT_URL)" if endpoint else ""
        raise UsageError(f"-o {url}: the bucket {scheme}://{bucket} does not exist{where}; create it first "
                         f"(aws s3 mb s3://{bucket}) or check the URL") from None
    except UsageError:
        raise
    except Exception as err:
        from botocore.exceptions import ConnectionError as NoConnection
        from botocore.exceptions import HTTPClientError

        if isinstance(err, NoConnection | HTTPClientError | TimeoutError):  # said now: not waited for twice
            raise remote_failure(url, err, "reach the output bucket") from err


def remote_names(url: str) -> list[str]:
    """The names directly in a remote folder ([] if there is none yet)."""
    try:
        fs, path = filesystem(url)
        if not fs.exists(path):
            return []
        return sorted(posixpath.basename(name.rstrip("/")) for name in fs.ls(path, detail=False))
    except UsageError:
        raise
    except Exception as err:
        raise remote_failure(url, err, "list the output folder") from err


def remote_entries(url: str) -> list[tuple[str, bool]] | None:
    """Each name in a remote folder and whether it is a file; None if it is no folder."""
    fs, path = filesystem(url)
    try:
        if not fs.isdir(path):
            return None
        return sorted((posixpath.basename(entry["name"].rstrip("/")), entry.get("type") == "file")
                      for entry in fs.ls(path, detail=True))
    except Exception as err:
        raise remote_failure(url, err, "list the output folder") from err


def remote_head(url: str, size: int) -> bytes | None:
    """The first ``size`` bytes of an object, or None if it cannot be read."""
    try:
        with open_remote(url) as f:
            return f.read(size)
    except OSError:
        return None


def upload(local: Path, url: str) -> None:
    """Copy a local file to ``url``, replacing what is there. OSError if it fails."""
    try:
        fs, path = filesystem(url)
        fs.put_file(os.fspath(local), path)
    except OSError:
        raise
    except Exception as err:
        raise OSError(f"cannot upload {local} to {url}: {err}") from err


def remove_remote(url: str) -> None:
    """Delete an object or a folder of them, if there."""
    try:
        fs, path = filesystem(url)
        if fs.exists(path):
            fs.rm(path, recursive=True)
    except Exception as err:
        raise remote_failure(url, err, "delete it") from err


def walk_files(folder: Path) -> Iterator[Path]:
    """Every file below a local folder, sorted, for uploading a finished output. A folder
    that cannot be listed raises its OSError (the commit stops, to be resumed): os.walk
    passed over it, and the upload went on without its files."""
    for dirpath, dirnames, filenames in walk_folders(folder, _raise):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def _raise(err: OSError) -> None:
    raise err
