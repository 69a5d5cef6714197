"""Every real module renders; the sanitizer holds against hostile input."""

import re
from html.parser import HTMLParser

import pytest

from curriculum.content_loader import CONTENT_DIR, read_module
from curriculum.rendering import render_markdown, render_markdown_inline, sanitize_html

REQUIRED_SECTION_IDS = ["learning-objectives", "worked-example", "lab", "key-terms", "sources"]
MODULE_FILES = sorted((CONTENT_DIR / "modules").glob("*.md"))

# Deliberately written here, not imported: the test must not trust the code it checks.
SAFE_TAGS = {
    "a",
    "abbr",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
}
SAFE_URL = re.compile(r"^(https?://|mailto:|/(?!/)|#)", re.IGNORECASE)


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in SAFE_TAGS:
            self.problems.append(f"tag {tag}")
        for name, value in attrs:
            if name.startswith("on") or name in {"style", "src", "srcdoc", "action", "formaction"}:
                self.problems.append(f"{tag}[{name}]")
            if name == "href":
                cleaned = re.sub(r"[\x00-\x20]", "", value or "")
                if not SAFE_URL.match(cleaned):
                    self.problems.append(f"href {value!r}")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)


def assert_safe(html: str) -> None:
    audit = _Audit()
    audit.feed(html)
    audit.close()
    assert audit.problems == [], (audit.problems, html)
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<iframe" not in lowered and "<svg" not in lowered and "<style" not in lowered
    for tag in re.findall(r"<[^>]*>", html):
        bare = re.sub(r"\"[^\"]*\"|'[^']*'", "", tag)
        assert not re.search(r"\son\w+\s*=", bare, re.IGNORECASE), tag
        assert "javascript:" not in tag.lower(), tag
        assert "data:" not in tag.lower(), tag
    for link in re.findall(r"<a\s[^>]*>", html):
        assert 'rel="noopener noreferrer"' in link


@pytest.mark.parametrize("path", MODULE_FILES, ids=[p.name for p in MODULE_FILES])
def test_every_module_renders_with_required_sections(path):
    module, problems = read_module(path)
    assert module is not None, problems
    rendered = render_markdown(module.body)
    ids = [entry["id"] for entry in rendered.toc]
    assert ids, "empty table of contents"
    positions = [ids.index(section) for section in REQUIRED_SECTION_IDS]
    assert positions == sorted(positions), ids
    assert all(entry["title"] for entry in rendered.toc)
    assert len(set(ids)) == len(ids)
    for entry in rendered.toc:
        assert f'<h2 id="{entry["id"]}">' in rendered.html
    assert rendered.word_count > 0
    assert_safe(rendered.html)
    # Links between modules are rewritten (external ones may end in .md, e.g. a GitHub FAQ.md).
    local = [h for h in re.findall(r'href="([^"]+)"', rendered.html) if "://" not in h]
    assert ".md" not in "".join(local)


def test_real_content_has_modules():
    assert len(MODULE_FILES) >= 10


def test_supported_markdown_survives_sanitizing():
    rendered = render_markdown(
        "## Costs & *tokens*\n\n"
        "| model | $/1M |\n|:--|--:|\n| small | 0.15 |\n\n"
        '!!! note "Prices change"\n    Check the date.\n\n'
        "```python\ncost = tokens / 1000 * price\n```\n\n"
        "1. one\n2. two\n\n"
        "See [Unit economics](03-unit-economics.md#lab), [FOCUS](https://focus.finops.org/).\n\n"
        "### A subsection\n\n## Sources\n"
    )
    html = rendered.html
    assert rendered.toc == [
        {"id": "costs-tokens", "title": "Costs & tokens"},
        {"id": "sources", "title": "Sources"},
    ]
    assert '<th align="left">model</th>' in html
    assert '<div class="admonition note">' in html
    assert '<p class="admonition-title">Prices change</p>' in html
    assert '<code class="language-python">' in html
    assert '<h3 id="a-subsection">' in html
    assert '<a href="/learn/unit-economics/#lab" rel="noopener noreferrer">' in html
    assert '<a href="https://focus.finops.org/" rel="noopener noreferrer">' in html
    assert_safe(html)


def test_toc_ids_are_stable():
    text = "## Lab\n\ntext\n\n## Lab\n\nmore\n\n## Key terms\n"
    first = render_markdown(text)
    assert first == render_markdown(text)
    assert [e["id"] for e in first.toc] == ["lab", "lab_1", "key-terms"]


HOSTILE_HTML = {
    "script": "<script>alert(1)</script>ok",
    "img-onerror": '<img src=x onerror="alert(1)">',
    "javascript-link": '<a href="javascript:alert(1)">x</a>',
    "javascript-mixed-case": '<a href="JaVaScRiPt:alert(1)">x</a>',
    "javascript-entity-decimal": '<a href="&#106;avascript:alert(1)">x</a>',
    "javascript-entity-hex-colon": '<a href="&#x6A;&#x61;vascript&colon;alert(1)">x</a>',
    "javascript-whitespace": '<a href=" java\tscript:alert(1)">x</a>',
    "javascript-padded-entities": '<a href="&#0000106&#0000097vascript:alert(1)">x</a>',
    "vbscript": '<a href="vbscript:msgbox(1)">x</a>',
    "data-url-link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "data-url-img": '<img src="data:image/svg+xml,<svg onload=alert(1)>">',
    "iframe": '<iframe src="https://evil.example/"></iframe>',
    "iframe-srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "svg-onload": "<svg onload=alert(1)><circle r=1 /></svg>",
    "svg-script": "<svg><script>alert(1)</script></svg>",
    "style-attribute": '<p style="background:url(javascript:alert(1))">x</p>',
    "style-tag": "<style>body{background:url(javascript:alert(1))}</style>",
    "object-embed": '<object data="x.swf"></object><embed src="x.swf">',
    "form-action": '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">go</button></form>',
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "base-href": '<base href="javascript:alert(1)//">',
    "nested-handlers": (
        '<div><p><a href="https://ok.example/" onclick="alert(1)">'
        "<strong onmouseover=alert(1)>x</strong></a></p></div>"
    ),
    "split-script": "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "nested-script": "<<script>script>alert(1)<</script>/script>",
    "mxss-math": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "comment-script": "<!--><script>alert(1)</script>-->",
    "attribute-breakout": '<a title="x" onmouseover="alert(1)" href="https://ok.example/">x</a>',
    "unquoted-backtick": "<a href=`javascript:alert(1)`>x</a>",
    "id-clobbering": '<h2 id="x&quot; onclick=&quot;alert(1)">t</h2>',
    "class-injection": '<div class="x&quot; onclick=&quot;alert(1)">t</div>',
}


@pytest.mark.parametrize("payload", HOSTILE_HTML.values(), ids=HOSTILE_HTML.keys())
def test_sanitize_html_neutralizes_hostile_html(payload):
    assert_safe(sanitize_html(payload))


@pytest.mark.parametrize("payload", HOSTILE_HTML.values(), ids=HOSTILE_HTML.keys())
def test_raw_html_in_markdown_is_text(payload):
    """Markdown treats raw HTML as text; whatever comes out is still safe."""
    rendered = render_markdown(f"## Section\n\n{payload}\n\ninline {payload} too\n")
    assert_safe(rendered.html)
    assert_safe(render_markdown_inline(payload))


HOSTILE_MARKDOWN = {
    "raw-html-block": '<div onclick="alert(1)">\n<script>alert(1)</script>\n</div>\n',
    "markdown-javascript-link": "[click](javascript:alert(1))",
    "markdown-javascript-mixed-case": "[click](JaVaScRiPt:alert(1))",
    "markdown-javascript-entity": "[click](&#106;avascript:alert(1))",
    "markdown-javascript-encoded-colon": "[click](javascript&#58;alert(1))",
    "markdown-javascript-percent": "[click](javascript%3Aalert(1))",
    "markdown-javascript-angle": "[click](<javascript:alert(1)>)",
    "reference-javascript": "[click][ref]\n\n[ref]: javascript:alert(1)",
    "autolink-javascript": "<javascript:alert(1)>",
    "markdown-data-link": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "markdown-image-data": "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "markdown-image-onerror-title": '![x](https://ok.example/x.png "\\" onerror=\\"alert(1)")',
    "link-title-injection": '[x](https://ok.example/ "a\\" onmouseover=\\"alert(1)")',
    "link-title-single-quote": "[x](https://ok.example/ 'a\\' onmouseover=\\'alert(1)')",
    "heading-attribute-injection": '## Title" onclick="alert(1)\n\n## <img src=x onerror=alert(1)>',
    "attr-list-syntax": '## Title {: onclick="alert(1)" }\n\n[x](https://ok.example/){: onclick=alert(1) }',
    "admonition-title-injection": '!!! note "x\\" onclick=\\"alert(1)"\n    body',
    "admonition-type-injection": '!!! "onclick=alert(1)" danger\n    body',
    "fenced-code-script": "```html\n<script>alert(1)</script>\n```",
    "fenced-code-lang-injection": '```"onclick=alert(1)\nx\n```',
    "table-cell-html": "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    "nested-emphasis-link": "**_[x](javascript:alert(1))_**",
    "entity-encoded-tag": "&lt;script&gt;alert(1)&lt;/script&gt;",
}


@pytest.mark.parametrize("payload", HOSTILE_MARKDOWN.values(), ids=HOSTILE_MARKDOWN.keys())
def test_render_markdown_neutralizes_hostile_markdown(payload):
    assert_safe(render_markdown(payload).html)
    assert_safe(render_markdown_inline(payload))


def test_hostile_link_keeps_text_but_loses_href():
    html = render_markdown("[click me](javascript:alert(1))").html
    assert "click me" in html
    assert "href" not in html


def test_inline_rendering_of_question_text():
    assert render_markdown_inline("Cost = `EffectiveCost / requests`, **not** billed") == (
        "Cost = <code>EffectiveCost / requests</code>, <strong>not</strong> billed"
    )
    assert render_markdown_inline("a <b>raw</b> tag") == "a &lt;b&gt;raw&lt;/b&gt; tag"
