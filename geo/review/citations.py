"""What a citation names: its documents and, of a law cited by its 《title》, the articles.

An item's ``basis`` (审查依据) names each document in full; the conditions of its outcomes refer back to it by
the 文号 alone (自然资发〔2023〕193号) or by the title and the articles (《湿地保护法》第十九条). A finding cites the
entries of its item's basis that the outcomes it states refer to, article by article where the reference names
articles: a plain 湿地 finding rests on 第十九条, not on 第二十一条 (重要湿地's restoration), though both are
《湿地保护法》's (``geo.review.profile.Item.basis_cited``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]+〔\d{4}〕第?\d+号")
TITLE = re.compile(r"《[^》]+》")
_NUMERAL = "零一二三四五六七八九十百〇两"
_ARTICLE = re.compile(rf"第([{_NUMERAL}]+)条(?:至第([{_NUMERAL}]+)条)?")
_DIGITS = {c: n for n, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}

# each document a reference names, with the articles it names of it (None: the document as a whole)
Articles = Mapping[str, frozenset[int] | None]


def documents(reference: str) -> set[str]:
    """The documents a reference names: its 文号 (an outcome refers back by it), else its 《titles》
    (《水污染防治法》第六十六条 → 《水污染防治法》)."""
    return set(DOC_NUMBER.findall(reference)) or set(TITLE.findall(reference))


def article_number(text: str) -> int:
    """An article's number in Chinese numerals: 四 → 4, 十九 → 19, 二十一 → 21, 一百零五 → 105."""
    total = digit = 0
    for char in text:
        if char in "十百":
            total += (digit or 1) * (10 if char == "十" else 100)
            digit = 0
        else:
            digit = _DIGITS[char]
    return total + digit


def cited_articles(reference: str) -> dict[str, frozenset[int] | None]:
    """The documents ``reference`` names (as :func:`documents`), each with the articles named after its title and
    before the next (《防洪法》第二十一条、《河道管理条例》第二十条; 第六十五条至第六十七条 is three); a document named
    by its 文号, or by a title with no article after it, as a whole (None)."""
    numbers = DOC_NUMBER.findall(reference)
    if numbers:
        return dict.fromkeys(numbers)
    titles = list(TITLE.finditer(reference))
    out: dict[str, frozenset[int] | None] = {}
    for k, title in enumerate(titles):
        end = titles[k + 1].start() if k + 1 < len(titles) else len(reference)
        found: set[int] = set()
        for first, last in _ARTICLE.findall(reference[title.end() : end]):
            found.update(range(article_number(first), article_number(last or first) + 1))
        before = out.get(title.group(), frozenset())
        out[title.group()] = None if before is None or not found else before | found
    return out


def joined(references: Iterable[Articles]) -> dict[str, frozenset[int] | None]:
    """Several references' documents and articles together (a document named whole by any, whole)."""
    out: dict[str, frozenset[int] | None] = {}
    for reference in references:
        for document, articles in reference.items():
            before = out.get(document, frozenset())
            out[document] = None if before is None or articles is None else before | articles
    return out


def meets(entry: Articles, cited: Articles) -> bool:
    """Whether a basis entry is among what ``cited`` names: one of its documents, at one of its articles where
    both name articles."""
    for document, articles in cited.items():
        if document not in entry:
            continue
        own = entry[document]
        if own is None or articles is None or own & articles:
            return True
    return False


def within(reference: Articles, other: Articles) -> bool:
    """Whether ``other`` names everything ``reference`` does (《防洪法》第二十二条 within 《防洪法》第二十一条、
    第二十二条)."""
    if not reference:  # a reference naming no document is said as written
        return False
    for document, articles in reference.items():
        if document not in other:
            return False
        wider = other[document]
        if wider is not None and (articles is None or not articles <= wider):
            return False
    return True


def by_subject(reference: str, entries: Iterable[str]) -> bool:
    """Whether ``reference`` cites a law by its subject, not by article (《文物保护法》（2024年修订）地下文物埋藏区考古
    调查、勘探的规定): it names titles and no article or 文号, and an entry of the basis opens with it. Such a
    reference cites the entries opening with it, not every entry of its law: a 保护范围 finding rests on the
    保护范围's rule, not on the 埋藏区's 考古调查 (officer's read)."""
    named = cited_articles(reference)
    if not named or DOC_NUMBER.search(reference) or any(a is not None for a in named.values()):
        return False
    return any(entry.startswith(reference) for entry in entries)


def merged_basis(*bases: Iterable[str]) -> list[str]:
    """The references of several bases once each, leaving out one another names all of (an outcome two checks word
    alike: the flood layer's range on 《防洪法》第二十二条, the 三调 water surface on 第二十一条、第二十二条)."""
    kept: list[tuple[str, Articles]] = []
    for reference in dict.fromkeys(r for basis in bases for r in basis):
        named = cited_articles(reference)
        if any(within(named, other) for _, other in kept):
            continue
        kept = [(r, other) for r, other in kept if not within(other, named)] + [(reference, named)]
    return [r for r, _ in kept]
