"""The site key of a URL's host: one key however the host is spelled.

Pages of one site reach a corpus with their host written several ways (``EXAMPLE.org``,
``example.org.``, ``bücher.example`` and ``xn--bcher-kva.example``, ``[::1]`` and
``[0:0:0:0:0:0:0:1]``, full-width letters); the census counts a site's lines by its key,
so each spelling would be a site of its own and its repeated lines would go unseen.

The key is the host in lower case, without a trailing dot or a leading ``www.``; a name
label is mapped as IDNA maps it (case, compatibility forms such as full-width letters)
and written in Unicode, so a label's punycode (``xn--``) form gives the same key; an IPv6
address is written compressed. A label IDNA refuses is kept as written. A plain ASCII
host's key is what it was before (urlsplit's lower-cased host, less ``www.``): outputs of
earlier runs stay the same.

IDNA here is the standard library's (RFC 3490 nameprep, Unicode 3.2 tables), not the
``idna`` package: curate does not depend on it, and a key must not change with what else
is installed. One difference from IDNA 2008: nameprep maps ``ß`` to ``ss`` (and final
sigma to sigma), so ``faß.de`` and ``fass.de`` share a key.
"""

from __future__ import annotations

import ipaddress
import re
from encodings.idna import ToASCII, nameprep

# IDNA's label separators: the full stop and its ideographic, full-width and half-width forms.
_DOTS = re.compile("[.\u3002\uff0e\uff61]")
_PUNYCODE = "xn--"
_WWW = "www."

# A URL with no scheme and no "//" ("example.org/1"): its first segment is taken for a host
# only if it is one, with an optional port. No ":" other than the port's, no "@" (an e-mail
# address, "mailto:..."), no brackets or backslashes (a Windows path).
FIRST_SEGMENT_END = re.compile(r"[/?#]")  # site.py cuts its cache key here too: one rule
_BARE_AUTHORITY = re.compile(r"([^:/?#@\[\]\\\s]+)(?::[0-9]{1,5})?")
_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# A top-level domain is letters (an IDN's is punycode once encoded): "v1.2/x" is a path.
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
# A relative link to a file ("index.html", "page.php?id=3") has a dot in its first segment
# too; these endings are no top-level domain, so such a segment is not taken for a host.
_FILE_ENDINGS = frozenset({"htm", "html", "shtml", "xhtml", "php", "asp", "aspx", "jsp", "cgi", "txt", "pdf",
                           "xml", "json", "js", "css", "jpg", "jpeg", "png", "gif", "svg"})


def site_key(host: str | None) -> str | None:
    """The site key of a host as urlsplit gives it (``hostname``: lower case, no brackets
    or port), or None for an empty host."""
    if not host:
        return None
    if ":" in host:  # only an IPv6 address has one in a hostname
        return _ipv6_key(host)
    key = ".".join(_label_key(label) for label in _labels(host))
    if key.startswith(_WWW):
        key = key[len(_WWW):]
    return key or None


def bare_host(url: str) -> str | None:
    """The host of a URL written without a scheme ("example.org/1", "www.example.org:8080/x"),
    or None when its first segment is not a host: a relative path ("news/1", "/a/b",
    "../x"), a file ("index.html"), a name without a dot ("localhost/x" is as likely a
    folder), a version ("v1.2/x")."""
    first = FIRST_SEGMENT_END.split(url, maxsplit=1)[0]
    match = _BARE_AUTHORITY.fullmatch(first)
    if match is None:
        return None
    host = match.group(1).lower()
    return host if _is_hostname(host) else None


def _labels(host: str) -> list[str]:
    labels = _DOTS.split(host)
    if len(labels) > 1 and not labels[-1]:
        labels.pop()  # "example.org." names the same host: the dot is the DNS root
    return labels


def _label_key(label: str) -> str:
    if not label.isascii():
        label = _mapped(label)
    if label.startswith(_PUNYCODE):
        label = _from_punycode(label)
    return label


def _mapped(label: str) -> str:
    """IDNA's mapping of a label (case folding, NFKC: full-width letters to ASCII), or the
    label as written when IDNA refuses it (a control character, a bidi mix)."""
    try:
        return nameprep(label)
    except UnicodeError:
        return label


def _from_punycode(label: str) -> str:
    """The Unicode form of an ``xn--`` label, mapped as its Unicode spelling is, so both
    give one key; the label itself when it is no valid IDN (bad punycode, a decoding
    that is plain ASCII or does not encode back to it, one IDNA refuses)."""
    try:
        text = label[len(_PUNYCODE):].encode("ascii").decode("punycode")
        if text.isascii() or text.encode("punycode").decode("ascii") != label[len(_PUNYCODE):]:
            return label
        return nameprep(text)
    except UnicodeError:
        return label


def _ipv6_key(host: str) -> str:
    """An IPv6 address compressed (``0:0:0:0:0:0:0:1`` is ``::1``); a host urlsplit let
    through that is none, as written."""
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        return host
    scope = f"%{address.scope_id}" if address.scope_id else ""
    if address.ipv4_mapped is not None:
        # Written the same on every Python: 3.13 changed str() of these to this form.
        return f"::ffff:{address.ipv4_mapped}{scope}"
    return address.compressed


def _is_hostname(host: str) -> bool:
    """Whether a scheme-less URL's first segment is a host: an IPv4 address, or two or more
    labels of letters, digits and hyphens (IDNA-encoded, for a Unicode one), not starting
    or ending with a hyphen, under a top-level domain of letters that is no file's ending."""
    try:
        ipaddress.IPv4Address(host)
        return True
    except ValueError:
        pass
    labels = _labels(host)
    if len(labels) < 2:
        return False
    try:
        encoded = [ToASCII(label).decode("ascii").lower() for label in labels]
    except UnicodeError:  # an empty or too long label, one IDNA refuses
        return False
    tld = encoded[-1]
    return (all(_LDH_LABEL.fullmatch(label) for label in encoded)
            and _TLD.fullmatch(tld) is not None and tld not in _FILE_ENDINGS)
