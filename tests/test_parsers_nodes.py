"""scrapers.parsers.nodes reads what parsel reads: same matches, same strings, same text."""

from __future__ import annotations

import pytest
from parsel import Selector
from scrapy.http import HtmlResponse

from scrapers.parsers import common, nodes

PAGE = """<html><head><title> A  page </title><style>p{}</style></head><body>
<div id="a" class="box  wide">one<!-- note --> two<b>bold<script>var x;</script></b>tail
  <p class="val">first</p><p class="val x">second&nbsp;<i>it</i></p>
  <table><tr><th>Label<br>two</th><!-- c --><td>Value</td></tr></table>
  <span class="labl">Drive:</span><span class="valu">4wd</span>
  <a href="/one">One <img alt="pic" src="/i.png"></a><a>none</a>
</div><div class="box">second box</div></body></html>"""

QUERIES = [
    "div.box",
    "p.val",
    "p.val::text",
    "p.val ::text",
    "a::attr(href)",
    "img::attr(alt)",
    "#a > p",
    "td",
    "title::text",
    ".missing",
]


@pytest.fixture(scope="module")
def response():
    return HtmlResponse("http://127.0.0.1/p", body=PAGE.encode(), encoding="utf-8")


@pytest.mark.parametrize("query", QUERIES)
def test_css_matches_are_parsels(response, query):
    assert nodes.markup(nodes.select(response, query)) == response.css(query).getall()


@pytest.mark.parametrize("query", [q for q in QUERIES if q.endswith(("::text", ")"))])
def test_get_is_parsels_first_string(response, query):
    assert nodes.get(response, query) == response.css(query).get()


@pytest.mark.parametrize("query", ["div.box", "p.val", "td"])
def test_a_list_scope_selects_under_each_as_a_selector_list(response, query):
    scope = nodes.select(response, "div")
    assert nodes.markup(nodes.select(scope, query)) == response.css("div").css(query).getall()


@pytest.mark.parametrize("query", ["#a", "b", "p.val", "th", "title"])
def test_text_is_every_text_node_joined_and_cleaned(response, query):
    node = response.css(query)[0]
    parsel_text = common.clean(" ".join(node.xpath(".//text()").getall()))
    assert nodes.text(node) == nodes.text(node.root) == parsel_text
    visible = node.xpath(".//text()[not(ancestor::script or ancestor::style)]").getall()
    assert nodes.visible_text(node.root) == common.clean(" ".join(visible))
    assert nodes.own_text(node.root) == common.clean(" ".join(node.xpath("./text()").getall()))


def test_visible_text_leaves_scripts_out(response):
    assert nodes.visible_text(nodes.first(response, "b")) == "bold"
    assert nodes.text(nodes.first(response, "b")) == "bold var x;"


def test_next_element_skips_comments_and_other_tags(response):
    th = nodes.first(response, "th")
    assert nodes.next_element(th).tag == "td"
    assert nodes.next_element(th, "td").tag == "td"
    assert nodes.next_element(nodes.first(response, "td")) is None


def test_by_class_finds_what_class_queries_find(response):
    div = nodes.first(response, "#a")
    found = nodes.by_class(div, "val", "x", "labl", "valu", "box", "missing")
    for name, elements in found.items():
        assert elements == nodes.select(div, f".{name}"), name  # the node itself included
    assert found["box"] == [div]


def test_queries_are_compiled_once():
    assert nodes.css("div.box") is nodes.css("div.box")
    assert nodes.xpath("//p") is nodes.xpath("//p")


def test_an_xpath_variable_keeps_one_compiled_query(response):
    query = nodes.xpath(".//img[contains(@src, $id)]/@src")
    assert query(nodes.element(response), id="i.png") == ["/i.png"]
    assert query(nodes.element(response), id="nothing") == []


@pytest.mark.parametrize(
    "markup", ['<img alt=" Japan " src="f.png">', "", "   ", "<!-- only -->", "text <img alt=x>"]
)
def test_parse_html_reads_a_snippet_as_parsel_does(markup):
    expected = Selector(text=markup).css("img::attr(alt)").get() if markup.strip() else None
    assert nodes.get(nodes.parse_html(markup), "img::attr(alt)") == expected


#: Class attributes a page index must split as CSS does: tabs and line breaks separate names,
#: a no-break space does not, a name listed twice matches once; ids may repeat and nest.
INDEX_PAGE = """<html><body class="top">
<div id="outer" class="grp\tone"><p class="item x">a</p>
  <div id="outer" class="grp"><p class="item  item">b</p><a class="thumb" href="/1">1</a></div>
</div>
<p class="item\u00a0y">c</p><p class="item\ny">d</p><a class="thumb">no href</a>
<span class="item"><a class="thumb" href="/2">2</a></span><b class="" id="">empty</b>
</body></html>"""

INDEX_QUERIES = [
    # (CSS query, how the index answers it)
    (".item", lambda ix: ix.classes("item")),
    (".grp", lambda ix: ix.classes("grp")),
    (".item\u00a0y", lambda ix: ix.classes("item\u00a0y")),
    (".top", lambda ix: ix.classes("top")),
    ("#outer", lambda ix: ix.ids("outer")),
    ("#nothing", lambda ix: ix.ids("nothing")),
    (".grp .item", lambda ix: ix.inside(ix.classes("item"), ix.classes("grp"))),
    (".grp .grp", lambda ix: ix.inside(ix.classes("grp"), ix.classes("grp"))),
    ("#outer a.thumb", lambda ix: ix.inside(ix.classes("thumb"), ix.ids("outer"), tag="a")),
    (".item .thumb", lambda ix: ix.inside(ix.classes("thumb"), ix.classes("item"))),
    (".missing .item", lambda ix: ix.inside(ix.classes("item"), ix.classes("missing"))),
]


@pytest.fixture(scope="module")
def index_page():
    page = HtmlResponse("http://127.0.0.1/i", body=INDEX_PAGE.encode(), encoding="utf-8")
    return page, nodes.PageIndex(page)


@pytest.mark.parametrize(("query", "answer"), INDEX_QUERIES)
def test_page_index_finds_what_css_finds(index_page, query, answer):
    page, index = index_page
    assert nodes.markup(answer(index)) == page.css(query).getall()


@pytest.mark.parametrize("part", ["item", "grp", "em y", "no such"])
def test_page_index_class_substring_is_xpaths_contains(index_page, part):
    page, index = index_page
    found = page.xpath("//*[contains(@class, $part)]", part=part).getall()
    assert nodes.markup(index.class_contains(part)) == found
