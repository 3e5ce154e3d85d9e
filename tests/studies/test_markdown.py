"""Instructions are Markdown rendered safely: HTML shown as text, only safe links."""

from app.studies.markdown import render, safe_link


def test_markdown_renders_the_safe_subset() -> None:
    html = str(render("A *b* **c** `d`\n\n- one\n- two\n\n1. first\n\n[site](https://example.org)"))
    assert "<em>b</em>" in html and "<strong>c</strong>" in html and "<code>d</code>" in html
    assert "<ul>\n<li>one</li>" in html and "<ol>\n<li>first</li>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">site</a>' in html


def test_html_is_shown_as_text_and_images_are_not_loaded() -> None:
    html = str(
        render('<script>alert(1)</script> <img src=x onerror="alert(2)"> ![i](https://x/i.png)')
    )
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_links_keep_only_safe_schemes() -> None:
    for bad in (
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,x",
        "vbscript:x",
        "//evil.example",
        "file:///etc/passwd",
    ):
        assert "<a " not in str(render(f"[x]({bad})")), bad
        assert not safe_link(bad)
    for good in (
        "https://example.org/a?b=c",
        "http://example.org",
        "mailto:lab@example.org",
        "/labeler",
        "#part",
    ):
        assert safe_link(good), good
