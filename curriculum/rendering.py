"""Markdown to safe HTML, for modules and for every piece of author text shown to users.

Two layers, on purpose: Python-Markdown is configured to treat raw HTML as text (so an author
cannot inject markup even by mistake), and its output then goes through nh3 with an explicit
allow-list. Either layer alone should be enough; the lint and the tests check that both hold.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET  # only for type hints; nothing is parsed with it
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, TypedDict

import markdown
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

MODULE_URL = "/learn/{slug}/"
MODULE_LINK_RE = re.compile(r"^(?:\./)?(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)\.md(#[A-Za-z0-9_-]*)?$")

ALLOWED_TAGS = frozenset(
    {
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
)
# `rel` is not listed: nh3 sets rel="noopener noreferrer" on every link itself.
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "code": {"class"},  # fenced code: language-python
    "div": {"class"},  # admonitions: admonition note
    "p": {"class"},  # admonition-title
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    **{f"h{level}": {"id"} for level in range(1, 7)},
}
URL_SCHEMES = frozenset({"https", "http", "mailto"})
LINK_REL = "noopener noreferrer"

_CLASS_RE = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,80}$")
_HREF_RE = re.compile(r"^(?:https?://|mailto:|/(?![/\\])|#)", re.IGNORECASE)
_ALIGN = frozenset({"left", "right", "center"})
_WORD_RE = re.compile(r"\w+(?:['\u2019.,/-]\w+)*")


class TocEntry(TypedDict):
    id: str
    title: str


@dataclass(frozen=True)
class RenderedModule:
    html: str
    toc: list[TocEntry]  # the `##` sections, in order: the portal's "mark as read" units
    word_count: int


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Values allowed through on top of nh3's own URL checks."""
    if attribute == "class":
        classes = [name for name in value.split() if _CLASS_RE.match(name)]
        return " ".join(classes) or None
    if attribute == "id":
        return value if _ID_RE.match(value) else None
    if attribute == "align":
        return value if value in _ALIGN else None
    if attribute == "start":
        return value if value.isdigit() else None
    if attribute == "href":
        # Besides nh3's scheme check: relative links only to our own pages (/learn/...) or
        # to a heading (#lab); anything else relative is an author error or a trick.
        return value if _HREF_RE.match(value) else None
    return value


def sanitize_html(fragment: str) -> str:
    """Clean an HTML fragment against the allow-list. Use it on every piece of HTML that came
    from Markdown or from any user before it reaches a template (then mark it safe)."""
    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_filter_attribute,
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


class _ModuleLinks(Treeprocessor):
    """`[Unit economics](03-unit-economics.md#lab)` -> `/learn/unit-economics/#lab`."""

    def run(self, root: ET.Element) -> None:
        for link in root.iter("a"):
            match = MODULE_LINK_RE.match(link.get("href", ""))
            if match is not None:
                link.set("href", MODULE_URL.format(slug=match.group(2)) + (match.group(3) or ""))


_BARE_URL_RE = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_NO_LINKS_IN = frozenset({"a", "code", "pre"})


def _split_url(match_text: str) -> tuple[str, str]:
    """A bare URL and the punctuation that ends the sentence after it."""
    url = match_text
    while url and url[-1] in _TRAILING:
        # Keep a closing parenthesis that belongs to the URL (Wikipedia-style links).
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url, match_text[len(url) :]


class _BareLinks(Treeprocessor):
    """Plain http(s) URLs in the text (e.g. in Sources) become links; nh3 then adds
    rel="noopener noreferrer" and keeps only http(s) and mailto schemes."""

    def run(self, root: ET.Element) -> None:
        self._walk(root)

    def _walk(self, element: ET.Element) -> None:
        if element.tag in _NO_LINKS_IN:
            return
        for child in list(element):
            self._walk(child)
        if element.text:
            nodes = self._links(element.text)
            if nodes is not None:
                element.text, created = nodes
                for offset, node in enumerate(created):
                    element.insert(offset, node)
        for index, child in reversed(list(enumerate(list(element)))):
            if child.tail:
                nodes = self._links(child.tail)
                if nodes is not None:
                    child.tail, created = nodes
                    for offset, node in enumerate(created, start=1):
                        element.insert(index + offset, node)

    @staticmethod
    def _links(text: str) -> tuple[str, list[ET.Element]] | None:
        matches = list(_BARE_URL_RE.finditer(text))
        if not matches:
            return None
        head = text[: matches[0].start()]
        created: list[ET.Element] = []
        for number, match in enumerate(matches):
            url, rest = _split_url(match.group(0))
            end = matches[number + 1].start() if number + 1 < len(matches) else len(text)
            link = ET.Element("a", {"href": url})
            link.text = url
            link.tail = rest + text[match.end() : end]
            created.append(link)
        return head, created


class _NoRawHtml(Extension):
    """Raw HTML in the source is rendered as text instead of being passed through."""

    def __init__(self, *, rewrite_module_links: bool = True, **kwargs: Any) -> None:
        self.rewrite_module_links = rewrite_module_links
        super().__init__(**kwargs)

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # Markdown's API
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        if self.rewrite_module_links:
            # After inline links exist (20), before the final unescape (0).
            md.treeprocessors.register(_ModuleLinks(md), "module_links", 2)
            md.treeprocessors.register(_BareLinks(md), "bare_links", 1)


def _markdown(*, toc: bool = True, rewrite_module_links: bool = True) -> markdown.Markdown:
    # A fresh instance per call: Markdown objects carry state and are not thread-safe.
    extensions: list[str | Extension] = ["tables", "fenced_code", "admonition", "sane_lists"]
    if toc:
        extensions.append("toc")
    extensions.append(_NoRawHtml(rewrite_module_links=rewrite_module_links))
    return markdown.Markdown(
        extensions=extensions,
        extension_configs={
            "tables": {"use_align_attribute": True},  # align="", not style="" (styles are stripped)
            "toc": {"permalink": False, "toc_depth": "2-6"},
        },
        output_format="html",
    )


def _sections(tokens: list[dict[str, Any]]) -> list[TocEntry]:
    entries: list[TocEntry] = []
    for token in tokens:
        if token["level"] == 2:
            entries.append(TocEntry(id=token["id"], title=html.unescape(token["name"])))
        entries.extend(_sections(token["children"]))
    return entries


def count_words(fragment: str) -> int:
    """Words a reader sees: tags removed, entities decoded; 1,500 and e.g. count as one."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", fragment))
    return len(_WORD_RE.findall(text))


def render_markdown(text: str) -> RenderedModule:
    """Render a module body: sanitized HTML, its `##` sections and its word count."""
    md = _markdown()
    safe = sanitize_html(md.convert(text))
    toc = _sections(getattr(md, "toc_tokens", []))
    return RenderedModule(html=safe, toc=toc, word_count=count_words(safe))


def render_markdown_inline(text: str) -> str:
    """Render a short piece of author text (question prompt, choice, explanation).

    A single paragraph comes back without its `<p>` so it can sit inside a label.
    """
    safe = sanitize_html(_markdown(toc=False).convert(text)).strip()
    if safe.startswith("<p>") and safe.endswith("</p>") and safe.count("<p>") == 1:
        safe = safe[3:-4]
    return safe


@dataclass(frozen=True)
class Link:
    tag: str  # "a" or "img"
    url: str


def extract_links(text: str) -> list[Link]:
    """Every link and image target as the author wrote it (before rewriting), for the lint."""
    md = _markdown(toc=False, rewrite_module_links=False)
    collector = _LinkCollector()
    md.treeprocessors.register(collector, "collect_links", 1)
    md.convert(text)
    return collector.links


class _LinkCollector(Treeprocessor):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[Link] = []

    def run(self, root: ET.Element) -> None:
        for element in root.iter():
            if element.tag == "a" and element.get("href") is not None:
                self.links.append(Link("a", element.get("href", "")))
            elif element.tag == "img":
                self.links.append(Link("img", element.get("src", "")))


_BAD_URL_RE = re.compile(r"^\s*(javascript|vbscript|data|file):", re.IGNORECASE)


class _UnsafeFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name}= on <{tag}>")
            elif name == "style":
                self.problems.append(f"style= on <{tag}>")
            elif name in {"href", "src", "action", "formaction", "xlink:href"} and value:
                # Browsers ignore ASCII whitespace and control characters inside a scheme.
                squeezed = re.sub(r"[\x00-\x20]", "", value)
                if _BAD_URL_RE.match(squeezed):
                    self.problems.append(f"{name}={value!r} on <{tag}>")


def find_unsafe(fragment: str) -> list[str]:
    """Reasons the HTML would be unsafe to show; empty when it is fine."""
    finder = _UnsafeFinder()
    finder.feed(fragment)
    finder.close()
    if re.search(r"<\s*script", fragment, re.IGNORECASE):
        finder.problems.append("<script")
    # A second, cruder look at the markup itself (quoted values removed: a link title may
    # legitimately contain the text "onclick=").
    for tag in re.findall(r"<[^>]*>", fragment):
        bare = re.sub(r"\"[^\"]*\"|'[^']*'", "", tag)
        if re.search(r"\son\w+\s*=", bare, re.IGNORECASE):
            finder.problems.append(f"event handler in {tag[:60]}")
        if "javascript:" in bare.lower():
            finder.problems.append(f"javascript: in {tag[:60]}")
    return sorted(set(finder.problems))
