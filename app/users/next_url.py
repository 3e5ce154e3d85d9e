"""Where to go after logging in: only a path on this site, judged as a browser reads it."""

from urllib.parse import unquote, urlsplit

MAX_NEXT_CHARS = 2_000


def safe_next(next_url: str | None) -> str | None:
    """`next_url` if it is a plain path on this site, else None (the caller goes home).

    Browsers read a URL more loosely than urlparse does: they treat a backslash as a slash
    (`/\\evil.example` is `//evil.example`), drop tabs and newlines (`/\\t/evil` is
    `//evil`), and some hops decode percent-escapes (`/%2F%2Fevil`). So we refuse any
    control character, then judge the value after decoding every percent-escape and turning
    backslashes into slashes: it must start with one slash and name no scheme or host.
    """
    if not next_url or len(next_url) > MAX_NEXT_CHARS:
        return None
    # Printable ASCII only: a browser strips control characters, and a Location header
    # carries nothing else unescaped.
    if not next_url.isascii() or not next_url.isprintable() or " " in next_url:
        return None
    decoded = next_url
    for _ in range(5):  # %252F decodes to %2F, then to /
        once = unquote(decoded, errors="replace") if "%" in decoded else decoded
        if once == decoded:
            break
        decoded = once
    else:
        return None
    if any(not ch.isprintable() or ch.isspace() for ch in decoded):
        return None
    path = decoded.replace("\\", "/")
    if not path.startswith("/") or path.startswith("//"):
        return None
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        return None
    return next_url
