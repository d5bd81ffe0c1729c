"""Errors, named for what they do to the run."""

from __future__ import annotations

import errno


class CurateError(Exception):
    """Base class: a problem curate can explain to the user."""


class RuleError(CurateError):
    """An invalid rule file. Fatal: the run stops before any output is written."""

    def __init__(self, path: str, message: str, rule: str | None = None):
        self.path = path
        self.rule = rule
        where = f"{path}: rule {rule!r}" if rule else path
        super().__init__(f"{where}: {message}")


class InputError(CurateError):
    """An unreadable input (file, record or line). It is quarantined and the run goes on."""

    def __init__(self, source: str, line: int | None, message: str):
        self.source = source
        self.line = line
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")


class UsageError(CurateError):
    """Inputs or options that cannot work (missing path, unwritable output). Fatal."""


class ArgumentError(UsageError):
    """An argument or option that names what the command must not touch (a report written
    over a run's own files). The CLI exits with status 2 for it, click's status for a
    usage error, so a script can tell it from a command that ran and failed."""


class ApiValueError(UsageError, ValueError):
    """An argument of the Python API (curate/api.py) with a value the command line would
    refuse (a --workers of 0, a --site not among its choices): a ValueError, as Python's
    own functions raise, and a UsageError, as the CLI's refusals are. Raised before
    anything is read or written."""


class ApiTypeError(UsageError, TypeError):
    """An argument of the Python API of the wrong type (a str where a list of names is
    wanted, a float for a DedupConfig): a TypeError, and a UsageError. Raised before
    anything is read or written."""


class RunStopped(CurateError):
    """The run could not go on (a worker died, the disk filled up): what is finished stays
    in ``OUT/.partial/`` and the message says how to resume."""

    def __init__(self, output: object, cause: str):
        self.output = output
        self.cause = cause
        super().__init__(
            f"{cause}; finished chunks are kept in {output}/.partial/ and no final file was written. "
            "Fix the cause, then run the same command with --resume to continue where it stopped.")

    def __reduce__(self) -> tuple:
        # Raised in a part's process (--dedup-parts), it is sent back pickled: rebuilt from
        # its message alone it failed, and the pool reported a process "terminated abruptly".
        return type(self), (self.output, self.cause)


class Interrupted(KeyboardInterrupt):
    """A Ctrl-C that stopped a run, where the writer knows what it left (a plain
    KeyboardInterrupt: the run was under way); ``state`` says what the output folder holds:

    - KEPT: the usual, an unfinished run whose finished chunks are kept (--resume continues);
    - UNTOUCHED: the run stopped before it wrote anything; the folder is as it was (or
      was never made), and the same command starts the run again;
    - REPLACING: --overwrite had begun deleting the folder's old output, and no new file
      was written; the same command (with --overwrite) starts again;
    - COMMITTING: every chunk was finished and the output was being moved into place;
      --resume finishes it.

    A KeyboardInterrupt still, so that a program that calls curate stops as it would."""

    KEPT = "kept"
    UNTOUCHED = "untouched"
    REPLACING = "replacing"
    COMMITTING = "committing"

    def __init__(self, state: str):
        self.state = state
        super().__init__(state)


class MachineLimit(CurateError):
    """A limit of this process or of the machine (open files, processes or threads, kernel
    memory) that a run met: no input's fault, so nothing is quarantined for it; the run
    stops (driver.py makes it a RunStopped, which says how to resume) with the limit named
    and how to raise it. One message argument: it is sent back pickled from a worker. A
    remote store that stopped answering (StoreGone) stops a run the same way."""


class StoreGone(OSError):
    """A remote store that stopped answering in the middle of a run (curate.outage): no
    input's fault. An OSError, raised where an object is read, so that every reader's
    handling of an unreadable input meets it, and machine_limit makes it the run's stop."""


# The errnos that are the process's or the machine's limits, never a file's fault, and
# what to do about each. EAGAIN only where a process or thread is started (fork, clone).
_LIMITS = {
    errno.EMFILE: "too many open files{where}: raise the limit (ulimit -n)",
    errno.ENFILE: "the system's table of open files is full{where}: close other programs, or raise fs.file-max",
    errno.ENOMEM: "out of kernel memory{where}: free memory{fewer}",
    errno.ENOBUFS: "out of kernel buffer space{where}: free memory{fewer}",
}
THREAD_LIMIT = ("too many processes or threads for this user{where}: raise the limit (ulimit -u){fewer}")


def machine_limit(err: BaseException, where: str = "", fewer: str = "") -> MachineLimit | None:
    """The stop ``err`` (or the OSError that caused it) makes if it is a limit of the
    process or the machine, else None. ``where`` says what was being done ("opening
    FILE"); ``fewer`` is advice to add (", or use fewer --workers")."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, StoreGone):  # its message names the store and the object
            return MachineLimit(str(seen))
        if isinstance(seen, OSError) and seen.errno in _LIMITS:
            said = f" ({where})" if where else ""
            return MachineLimit(_LIMITS[seen.errno].format(where=said, fewer=fewer))
        seen = seen.__cause__ or seen.__context__
    return None


def memory_error_in(err: BaseException) -> MemoryError | None:
    """The MemoryError ``err`` is, or that caused it (a stream's fault, an OSError a
    store's reader made of one), else None."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, MemoryError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def raise_if_machine_limit(err: BaseException, where: str = "", fewer: str = "") -> None:
    """Raise the stop ``err`` makes if it is a limit of the process or the machine (see
    machine_limit); return if it is not, for the caller to blame what it was handling. The
    one rule for every place that would otherwise say a file or a folder cannot be read:
    under a low ``ulimit -n`` every open fails, and each input taken for unreadable was
    one silently dropped from the run."""
    limit = machine_limit(err, where, fewer)
    if limit is not None:
        raise limit from err


def thread_limit(where: str = "", fewer: str = "") -> MachineLimit:
    """The stop a thread or process that could not be started makes (RuntimeError "can't
    start new thread", or EAGAIN from fork: RLIMIT_NPROC or the system's threads-max)."""
    return MachineLimit(THREAD_LIMIT.format(where=f" ({where})" if where else "", fewer=fewer))
