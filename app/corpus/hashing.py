import hashlib


def content_hash(*parts: str | None) -> str:
    """Identity of a text (and its context) for de-duplication across imports."""
    h = hashlib.sha256()
    for part in parts:
        h.update(b"\x1f" if part is None else b"\x1e" + part.encode("utf-8"))
    return h.hexdigest()
