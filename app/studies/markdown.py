"""Instructions written by the admin, in Markdown, rendered safely for labelers.

markdown-it-py (CommonMark, already installed with rich) with raw HTML off, so any tag the
admin types is shown as text, and images off (an image would fetch from anywhere and the CSP
refuses it anyway). Links keep only http, https, mailto and paths on this site, and open
nothing in the page's name (rel noopener noreferrer nofollow)."""

from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markupsafe import Markup

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})


def safe_link(url: str) -> bool:
    """A link target a labeler may follow: a safe scheme, or a path or fragment here."""
    cleaned = "".join(ch for ch in url if ch.isprintable() and not ch.isspace())
    if cleaned.startswith("//") or "\\" in cleaned:
        return False  # protocol-relative: another host
    scheme = urlsplit(cleaned).scheme.lower()
    return scheme in SAFE_SCHEMES if scheme else True


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(["image", "html_block", "html_inline"])
    md.validateLink = safe_link  # type: ignore[method-assign]

    def link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
        return str(renderer.renderToken(tokens, idx, options, env))

    md.add_render_rule("link_open", link_open)
    return md


def render(text: str) -> Markup:
    """HTML for `text`: paragraphs, emphasis, lists, headings, quotes, code, safe links."""
    return Markup(_parser().render(text or ""))
