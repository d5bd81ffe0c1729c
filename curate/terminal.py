"""Text from the data, made safe to print on a terminal.

File names, ids, JSON keys and the text of lines come from scraped data. Printed as they
are, an escape sequence in one of them drives the terminal that shows it: it clears the
screen, sets the window title, colours the rest of the output or (through some terminals'
answers) types into the shell; a carriage return or a right-to-left override makes a
message show something other than what it says ("evil\\rall good"). Every string from the
data is printed through ``shown``; ``echo`` is the CLI's one way to print, and shows its
whole message the same way, line by line, so a string that reached a message without
``shown`` cannot drive the terminal either.

The escapes are those Python's ``repr`` writes (``\\x1b``, ``\\r``, ``\\u202e``): the
duplicate-id message writes the id with ``repr``, and file names write their bytes that
are not UTF-8 as ``\\xNN`` (discover.source_name), so the terminal spells a character as
the rest of curate's messages do. A backslash is not doubled, so a name reads as in the
output files (where source_name does not double it either); the escapes keep the terminal
safe, they are not meant to be read back.

Only the terminal's text changes: the output files are JSON, which escapes controls itself.

A message's web URLs are shown with the secrets of a signed URL cut short
(signed_urls.shortened): a presigned URL given as an input is a password to its object,
and a terminal's text ends up in logs and bug reports.
"""

from __future__ import annotations

import click

from curate.signed_urls import shortened

# Code points that move the cursor, start an escape sequence or reorder what is shown:
# C0 controls (tab too: it moves the cursor to a column the message cannot know, and
# explain's --width would no longer bound a line), DEL, C1 controls (0x9b is a one-byte
# CSI to some terminals), the bidi marks, embeddings, overrides and isolates, the line and
# paragraph separators, and lone surrogates (from a JSON "\ud800" escape), which cannot be
# encoded to print at all. Letters, marks and joiners are left alone: é, emoji and Indic
# text read as they are.
_UNSAFE = (
    *range(0x00, 0x20), 0x7F, *range(0x80, 0xA0),
    0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A),
    0x2028, 0x2029, *range(0xD800, 0xE000),
)


def _escape(code: int) -> str:
    """The escape ``repr`` writes for the code point."""
    named = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
    if code in named:
        return named[code]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_ESCAPES = {code: _escape(code) for code in _UNSAFE}


def shown(text: str) -> str:
    """``text`` (a name, an id, a line of the data) with every code point that could drive
    the terminal written as a visible escape; a line break too, so that a name cannot
    start a line of its own that looks like curate's."""
    return text.translate(_ESCAPES)


def shown_lines(message: str) -> str:
    """A message of one or more lines, each line shown; the line breaks that curate put
    between them are kept. Every message the CLI prints comes here (echo, and the errors
    CurateGroup shows), so a signed URL's secrets are cut here, once for all of them."""
    return "\n".join(shown(line) for line in shortened(message).split("\n"))


def echo(message: str, err: bool = False) -> None:
    """Print a message of curate's: the CLI prints through this, never click.echo, so no
    string from the data reaches the terminal raw, wherever it was put into the message."""
    click.echo(shown_lines(message), err=err)
