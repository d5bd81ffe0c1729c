"""The credentials a signed web URL carries in its query, kept out of what curate writes
and shortened in what it prints.

A presigned URL (``https://host/doc.jsonl?X-Amz-Signature=...&X-Amz-Credential=...``) is
a password to its object for as long as it lasts. Written into the output as the input's
root, a source, an id or a message, it leaked into a corpus users publish, and the output
changed every time the URL was signed again (another signature, date and expiry for the
same data). So the output spells a web URL without the query parameters of the known
signing schemes (``public_url``), keeping every other one: ``?page=1`` and ``?page=2``
stay two sources. On the terminal a URL keeps all its parameters (its date and expiry
say why a server refuses it), the secret ones cut to their first characters
(``shortened``).

Only ``http://`` and ``https://`` URLs are touched: in a bucket's URL (``s3://``) a ``?``
is part of a key or a wildcard, never a query.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

# Every parameter of these schemes is named with its prefix: AWS Signature Version 4
# (X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders, -Signature,
# -Security-Token), Google Cloud Storage V4 (X-Goog-...) and Alibaba OSS V4 (x-oss-...).
SIGNING_PREFIXES = ("x-amz-", "x-goog-", "x-oss-")
# The schemes whose parameters have plain names, taken as a signed URL's when its
# Signature is there: AWS Signature Version 2 (AWSAccessKeyId, Expires, Signature), Google
# V2 (GoogleAccessId), Alibaba OSS V1 (OSSAccessKeyId, security-token) and CloudFront
# (Policy, Key-Pair-Id). Without a Signature, an ``Expires`` or a ``Policy`` may be a
# page's own parameter, and is kept.
SIGNATURE_V2 = frozenset({"signature", "expires", "awsaccesskeyid", "googleaccessid", "ossaccesskeyid",
                          "security-token", "policy", "key-pair-id"})
# Azure's shared access signature (SAS) token, whole, when both its signature (sig) and
# its version (sv, which every SAS has) are there: its short names (st, se, sp, sr, ...)
# may be any page's parameters otherwise.
AZURE_SAS = frozenset({"sv", "ss", "srt", "sp", "se", "st", "spr", "sip", "si", "sr", "sig", "sdd", "ses",
                       "skoid", "sktid", "skt", "ske", "sks", "skv", "skdutid", "saoid", "suoid", "sduoid", "scid",
                       "rscc", "rscd", "rsce", "rscl", "rsct"})
# The parameters that are secrets (or name the key that signed), cut on the terminal. The
# others (dates, expiry, algorithm) are said whole: they tell why a server refuses a URL.
SECRET = frozenset({"x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-goog-signature",
                    "x-goog-credential", "x-oss-signature", "x-oss-credential", "x-oss-security-token",
                    "signature", "awsaccesskeyid", "googleaccessid", "ossaccesskeyid", "security-token", "sig"})
SHOWN_CHARACTERS = 4  # of a secret value on the terminal: enough to tell two signatures apart
_WEB_URL = re.compile(r"https?://", re.IGNORECASE)
# A web URL inside a message: up to a space, a quote or a bracket that closes it.
_URL_IN_TEXT = re.compile(r"https?://[^\s\"'<>`]+", re.IGNORECASE)
# What a message puts after a URL ("URL: no such file", "(URL)", "URL."), not part of it.
_TRAILING = ".,;:!)]}"
# A secret parameter's value as a signing scheme writes it (hex, base64, percent-escapes,
# a credential's '/'), which stops at a message's ':' or ',' after the URL.
_SECRET_VALUE = re.compile(r"(?P<head>[?&](?P<name>[^=&#?\s]+)=)(?P<value>[A-Za-z0-9%/+=._~-]*)")


def is_web_url(text: str) -> bool:
    return _WEB_URL.match(text) is not None


def public_url(url: str) -> str:
    """The URL as the output spells it: a web URL without the query parameters of a
    signing scheme (the rest kept, in their order and as written); anything else as it is."""
    if not is_web_url(url) or "?" not in url:
        return url
    base, _, rest = url.partition("?")
    query, hash_mark, fragment = rest.partition("#")
    params = query.split("&")
    names = [_name(param) for param in params]
    signed_v2 = "signature" in names
    azure = "sig" in names and "sv" in names
    kept = [param for param, name in zip(params, names, strict=True)
            if not _signing(name, signed_v2, azure)]
    spelled = base + ("?" + "&".join(kept) if kept else "")
    return spelled + hash_mark + fragment


def _name(param: str) -> str:
    """A query parameter's name, as its scheme compares it (unescaped, any case)."""
    return unquote(param.partition("=")[0]).lower()


def _signing(name: str, signed_v2: bool, azure: bool) -> bool:
    return (name.startswith(SIGNING_PREFIXES) or (signed_v2 and name in SIGNATURE_V2)
            or (azure and name in AZURE_SAS))


def public_text(text: str) -> str:
    """A message (a library's error, which may hold the URL it asked) with every web URL
    in it spelled as the output spells it (public_url)."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda found: _each_url(found.group(0), public_url), text)


def shortened(text: str) -> str:
    """A message for the terminal: every web URL in it with the values of its secret
    parameters cut to their first characters and '...' (all of it for a short one)."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda found: _each_url(found.group(0), _cut_secrets), text)


def _each_url(found: str, spell) -> str:
    """``spell`` applied to a URL found in a message, without the punctuation after it."""
    url = found.rstrip(_TRAILING)
    return spell(url) + found[len(url):]


def _cut_secrets(url: str) -> str:
    if "?" not in url:
        return url

    def cut(param: re.Match) -> str:
        value = param.group("value")
        if unquote(param.group("name")).lower() not in SECRET or not value:
            return param.group(0)
        shown = value[:SHOWN_CHARACTERS] if len(value) > 2 * SHOWN_CHARACTERS else ""
        return f"{param.group('head')}{shown}..."

    base, mark, query = url.partition("?")
    return base + mark + _SECRET_VALUE.sub(cut, "?" + query)[1:]
