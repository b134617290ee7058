"""Reading a parsed page cheaply: the text of a node, and CSS/XPath queries compiled once.

The parsers take a Scrapy response and read its lxml tree. parsel's ``.css()``/``.xpath()``
translate and compile their query on every call and wrap every result in a ``Selector``, which
cost the parsers a third of their time (issue #18, bench/README.md). These helpers run the same
queries as precompiled ``lxml.etree.XPath`` objects (CSS translated by parsel's own translator,
``::text`` and ``::attr(name)`` included) on the lxml nodes themselves, and read text with
``itertext()``. A *scope* is a response, a parsel ``Selector`` or an lxml element, or a list of
them (then every match under each, in turn, as a parsel ``SelectorList`` does); results are lxml
elements, or plain strings for ``::text``/``::attr()``/``text()``/``@attr`` queries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from lxml import etree
from lxml.html import HTMLParser
from parsel import Selector
from parsel.csstranslator import css2xpath
from scrapy.http import TextResponse

Node = etree._Element


@lru_cache(maxsize=1024)
def css(query: str) -> etree.XPath:
    """A CSS query (parsel's dialect) compiled once (queries are the parsers' constants)."""
    return etree.XPath(css2xpath(query), smart_strings=False)


@lru_cache(maxsize=1024)
def xpath(expression: str) -> etree.XPath:
    """An XPath expression compiled once; a value that changes goes in as an XPath variable
    (``nodes.xpath("//img[contains(@src, $id)]")(node, id=value)``), not into the text."""
    return etree.XPath(expression, smart_strings=False)


#: The parser parsel builds a response's tree with (lenient, UTF-8).
_HTML_PARSER = HTMLParser(recover=True, encoding="utf8")


def parse_html(markup: str) -> Node:
    """The tree of an HTML snippet (a flag's ``<img>`` in a JSON value, say), parsed as parsel
    parses a page, without a ``Selector`` around it."""
    body = markup.strip().replace("\x00", "").encode("utf8") or b"<html/>"
    root = etree.fromstring(body, parser=_HTML_PARSER)
    return etree.fromstring(b"<html/>", parser=_HTML_PARSER) if root is None else root


def element(scope: TextResponse | Selector | Node) -> Node:
    """The lxml node of a response (its document), a ``Selector`` or a node."""
    if isinstance(scope, Node):
        return scope
    if isinstance(scope, TextResponse):
        return scope.selector.root
    return scope.root


def _run(compiled: etree.XPath, scope) -> list:
    if isinstance(scope, list):
        return [found for node in scope for found in compiled(element(node))]
    return compiled(element(scope))


def select(scope, query: str) -> list:
    """Every match of the CSS ``query`` under ``scope``."""
    return _run(css(query), scope)


def select_xpath(scope, expression: str) -> list:
    """Every match of the XPath ``expression`` with ``scope`` as its context node."""
    return _run(xpath(expression), scope)


def first(scope, query: str):
    """The first match of the CSS ``query`` under ``scope``, or None."""
    found = _run(css(query), scope)
    return found[0] if found else None


def get(scope, query: str) -> str | None:
    """The first string a ``::text``/``::attr()`` CSS query finds, or None (parsel's ``get``)."""
    found = _run(css(query), scope)
    return found[0] if found else None


def clean(text: str | None) -> str | None:
    """Whitespace (no-break spaces too) collapsed; None when nothing is left."""
    if text is None:
        return None
    return " ".join(text.split()) or None


def text(node) -> str | None:
    """All text under ``node`` (an element, a ``Selector``, a string or None), cleaned."""
    if node is None:
        return None
    if isinstance(node, str):
        return clean(node)
    return clean(" ".join(element(node).itertext()))


def first_text(scope, query: str) -> str | None:
    """The text of the first match of the CSS ``query`` under ``scope``."""
    return text(first(scope, query))


_HIDDEN_TAGS = ("script", "style")
_VISIBLE_TEXTS = xpath(".//text()[not(ancestor::script or ancestor::style)]")


def visible_text(node) -> str | None:
    """All text under ``node`` but that of its scripts and styles, cleaned."""
    if node is None or isinstance(node, str):
        return text(node)
    node = element(node)
    if next(node.iter(*_HIDDEN_TAGS), None) is None:
        return clean(" ".join(node.itertext()))
    return clean(" ".join(_VISIBLE_TEXTS(node)))


def own_texts(node) -> list[str]:
    """The element's own text nodes (``./text()``), not its children's."""
    node = element(node)
    parts = [node.text] if node.text is not None else []
    parts.extend(child.tail for child in node if child.tail is not None)
    return parts


def own_text(node) -> str | None:
    """The element's own text nodes joined and cleaned."""
    return clean(" ".join(own_texts(node)))


def next_element(node: Node, tag: str | None = None) -> Node | None:
    """The next sibling element (of ``tag`` when given), comments skipped; None at the end."""
    sibling = node.getnext()
    while sibling is not None and (
        not isinstance(sibling.tag, str) or (tag is not None and sibling.tag != tag)
    ):
        sibling = sibling.getnext()
    return sibling


def elements(node: Node) -> Iterator[Node]:
    """The element children of ``node`` (comments and processing instructions left out)."""
    return node.iterchildren(etree.Element)


def markup(found: list) -> list[str]:
    """Query results as parsel's ``getall()`` gives them: strings as they are, elements and
    comments serialized as HTML (without their tail)."""
    return [
        part
        if isinstance(part, str)
        else etree.tostring(part, method="html", encoding="unicode", with_tail=False)
        for part in found
    ]


def by_class(node: Node, *names: str) -> dict[str, list[Node]]:
    """The elements of ``node`` (itself included) of each class in ``names``, in document
    order: what ``.name`` CSS queries find, from one walk of a small subtree instead of one
    query per class."""
    found: dict[str, list[Node]] = {name: [] for name in names}
    for descendant in node.iter(etree.Element):
        for name in (descendant.get("class") or "").split():
            if name in found:
                found[name].append(descendant)
    return found


def has_class(node, name: str) -> bool:
    """Whether ``name`` is one of the element's classes."""
    return name in (element(node).get("class") or "").split()


#: The whitespace XPath's ``normalize-space`` (and so a CSS class test) splits class names on.
_XML_SPACE = re.compile(r"[ \t\r\n]+")


@lru_cache(maxsize=4096)
def class_names(value: str) -> tuple[str, ...]:
    """The class names of a ``class`` attribute, each once, split as a CSS ``.name`` query
    splits them (pages repeat their class attributes: each distinct one is split once)."""
    return tuple(dict.fromkeys(name for name in _XML_SPACE.split(value) if name))


class PageIndex:
    """A page's elements by ``id`` and by class name, from one walk of its tree.

    Each CSS ``#id`` or ``.name`` query (``.a .b`` too) scans the whole document; a page read
    with a dozen of them spent more time in those scans than in building its tree (issue #18).
    The index answers the same queries with the same elements, in document order, from one walk.
    """

    __slots__ = ("by_class", "by_id", "classed")

    def __init__(self, scope) -> None:
        by_id: dict[str, list[Node]] = {}
        by_class: dict[str, list[Node]] = {}
        #: (element, its class attribute) of every element with one, in document order.
        classed: list[tuple[Node, str]] = []
        for node in element(scope).iter(etree.Element):
            ident = node.get("id")
            if ident is not None:
                by_id.setdefault(ident, []).append(node)
            value = node.get("class")
            if value is not None:
                classed.append((node, value))
                for name in class_names(value):
                    if name in by_class:
                        by_class[name].append(node)
                    else:
                        by_class[name] = [node]
        self.by_id = by_id
        self.by_class = by_class
        self.classed = classed

    def ids(self, ident: str) -> list[Node]:
        """What ``#ident`` finds."""
        return self.by_id.get(ident, [])

    def classes(self, name: str) -> list[Node]:
        """What ``.name`` finds."""
        return self.by_class.get(name, [])

    def class_contains(self, part: str) -> list[Node]:
        """What ``//*[contains(@class, part)]`` finds (a substring, not a class name)."""
        return [node for node, value in self.classed if part in value]

    def inside(self, found: list[Node], outer: list[Node], tag: str | None = None) -> list[Node]:
        """The nodes of ``found`` (of ``tag`` when given) under one of ``outer``: what a CSS
        descendant query ``outer found`` finds."""
        if not outer:
            return []
        holders = set(outer)
        return [
            node
            for node in found
            if (tag is None or node.tag == tag)
            and any(up in holders for up in node.iterancestors())
        ]
