"""An output folder in object storage (``-o s3://bucket/clean/``): the run is written,
chunk by chunk and resumably, into a local staging folder, and uploaded at the commit.

Object stores have no rename and no lock, so the journaled writer (curate.write) works
where it can: on local disk. The upload is one more step of its commit, made before
``.partial/`` is discarded, so a run killed during the upload is finished by
``--resume``, which uploads again. ``summary.json`` goes up last: a remote folder without
it is not a finished run, as on disk. The staging folder is deleted once the upload is
done; it needs room for the whole output (``--staging DIR`` puts it elsewhere).

One machine's runs exclude each other through the staging folder's lock; two machines
writing one remote folder are not stopped (stores offer no lock to take).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from curate import interrupts
from curate.card import CARD, is_own_card
from curate.errors import Interrupted, UsageError
from curate.formats import DEFAULT_SINK, Sink
from curate.outdir import CORPUS, QUARANTINE, REMOVED, SUMMARY, FolderState, not_curates, state_of
from curate.storage import (
    Location,
    base_name,
    check_output_bucket,
    is_remote,
    join,
    open_remote,
    remote_entries,
    remote_head,
    remote_names,
    remove_remote,
    upload,
    walk_files,
)
from curate.user_cache import cache_root
from curate.write import OutputWriter

if TYPE_CHECKING:
    from curate.summary import Summary

STAGING_ENV = "CURATE_STAGING"


def default_staging_root() -> Path:
    """Where remote outputs are staged unless --staging says: $CURATE_STAGING, else the
    user's cache folder (`user_cache.cache_root`)."""
    if os.environ.get(STAGING_ENV):
        return Path(os.environ[STAGING_ENV]).expanduser()  # as for CURATE_CACHE: "~/..." quoted
    return cache_root() / "staging"


def staging_folder(url: str, root: Path | None = None) -> Path:
    """The staging folder of one remote output: the same for every run into it, so a
    --resume finds what a stopped run left."""
    digest = hashlib.sha256(url.rstrip("/").encode("utf-8")).hexdigest()[:16]
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in base_name(url))[:40] or "output"
    return (root or default_staging_root()) / f"{name}-{digest}"


def open_output_folder(output: Location, fingerprint: str, resume: bool = False, overwrite: bool = False,
                       sink: Sink | str = DEFAULT_SINK, staging: Path | None = None,
                       resumable: bool = True) -> OutputWriter:
    """The writer of an output folder: local, or staged and uploaded for a URL."""
    if isinstance(output, str) and is_remote(output):
        return StagedOutputWriter(output, fingerprint, resume, overwrite, sink, staging, resumable)
    return OutputWriter(Path(output), fingerprint, resume=resume, overwrite=overwrite, sink=sink,
                        resumable=resumable)


class StagedOutputWriter(OutputWriter):
    # Its folder is only where the output is built: the run is finished once summary.json
    # is uploaded, not when it is renamed into the staging folder.
    _finished_in_place = False

    def __init__(self, url: str, fingerprint: str, resume: bool = False, overwrite: bool = False,
                 sink: Sink | str = DEFAULT_SINK, staging: Path | None = None, resumable: bool = True):
        self.url = url.rstrip("/")
        self._published = False
        check_output_bucket(self.url)
        names = remote_names(self.url)
        own_card = CARD in names and is_own_card(lambda: open_remote(join(self.url, CARD)))
        state = state_of(names, own_card=own_card)
        if state.kind != "foreign":  # names alone are not enough: --overwrite deletes these
            impostors = not_curates(names, lambda name, size: remote_head(join(self.url, name), size),
                                    lambda name: remote_entries(join(self.url, name)))
            state = FolderState("foreign", tuple(impostors)) if impostors else state
        local = staging_folder(self.url, staging)
        refused = remote_refusal(self.url, state, resume, overwrite, local)
        if refused is not None:
            raise refused
        try:
            super().__init__(local, fingerprint, resume=resume, overwrite=overwrite, sink=sink, resumable=resumable)
        except UsageError as err:
            raise UsageError(f"-o {self.url} is staged in {local}: {err}") from err
        if overwrite:  # the local lock is held: no other run of this machine is writing there
            try:
                for name in (SUMMARY, CORPUS, REMOVED, QUARANTINE, CARD):  # summary.json first: not finished from now
                    remove_remote(join(self.url, name))
            except KeyboardInterrupt:
                self._lock.release()
                raise Interrupted(Interrupted.REPLACING) from None

    def _publish(self) -> None:
        """Upload what the commit put in the staging folder, summary.json last."""
        for name in (CORPUS, REMOVED, QUARANTINE, CARD):
            path = self.out_dir / name
            if not path.exists():  # the card of a run sealed by a curate that wrote none
                continue
            for file in walk_files(path) if path.is_dir() else [path]:
                upload(file, join(self.url, file.relative_to(self.out_dir).as_posix()))
        interrupts.too_late()  # the upload that finishes the run: a Ctrl-C from here on has nothing to stop
        upload(self.out_dir / SUMMARY, join(self.url, SUMMARY))
        self._published = True

    def finished(self) -> bool:
        return self._published

    def commit(self, summary: Summary) -> None:
        super().commit(summary)
        shutil.rmtree(self.out_dir, ignore_errors=True)  # everything is in the store now

    def finish_after_interrupt(self) -> None:
        super().finish_after_interrupt()
        shutil.rmtree(self.out_dir, ignore_errors=True)


def remote_refusal(url: str, state: FolderState, resume: bool, overwrite: bool,
                   local: Path | None = None) -> UsageError | None:
    """Why a run may not write this remote folder as asked, or None: the rules of a local
    folder (curate.outdir.refusal), where a folder holding curate's files without
    summary.json is an upload that stopped, which --resume finishes from its staging
    folder ``local``, if that is still there."""
    listed = ", ".join(state.names[:5]) + (", ..." if len(state.names) > 5 else "")
    if state.kind == "foreign":
        return UsageError(f"{url}: the folder holds files curate did not write ({listed}); curate writes only into "
                          "an empty folder or one of its own output folders, so choose another with -o URL")
    if state.kind == "finished" and not overwrite:
        how = "nothing is left to resume; " if resume else ""
        return UsageError(f"{url}: the folder holds a finished run (summary.json); {how}use --overwrite to replace "
                          "it, or choose another folder with -o URL")
    stopped = state.kind in ("incomplete", "unfinished")
    # A kill while uploading leaves the sealed run (or its finished files) in the staging
    # folder; with nothing there, --resume has nothing to finish from.
    staged = local is None or (local.is_dir() and any(local.iterdir()))
    if stopped and not (resume or overwrite):
        how = "Use --resume to finish it, or --overwrite to start again" if staged else (
            f"Its staging folder {local} is gone (another machine, a cleared cache or another --staging), so it "
            "cannot be resumed: use --overwrite to start again")
        return UsageError(f"{url}: the folder holds part of an output ({listed}) but no summary.json: a run that "
                          f"stopped while uploading. {how}")
    if stopped and resume and not staged:
        return UsageError(f"{url}: --resume finishes an upload from the staging folder of the run that stopped, "
                          f"{local}, and it holds none (another machine, a cleared cache or another --staging); "
                          "use --overwrite to start again")
    return None
