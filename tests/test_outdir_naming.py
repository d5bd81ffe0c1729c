"""A full disk fails a buffered flush or an fsync without naming the file: the message the
user reads must still say which file (outdir.naming)."""

from __future__ import annotations

import errno

import pytest

from curate.outdir import naming

pytestmark = pytest.mark.unit


def test_an_error_that_names_no_file_gets_the_path(tmp_path):
    with pytest.raises(OSError) as caught, naming(tmp_path / "000001.state"):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert caught.value.filename == str(tmp_path / "000001.state")
    assert caught.value.errno == errno.ENOSPC


def test_an_error_that_names_its_file_keeps_it(tmp_path):
    with pytest.raises(OSError) as caught, naming(tmp_path / "outer"):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "inner"))
    assert caught.value.filename == str(tmp_path / "inner")


def test_a_close_that_fails_inside_is_named(tmp_path):
    """The shape write_durably and a chunk's state use: the file's close (its final flush)
    runs inside naming, so an error there is named too."""
    target = tmp_path / "state"

    class FailingClose:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as caught, naming(target), FailingClose():
        pass
    assert caught.value.filename == str(target)
