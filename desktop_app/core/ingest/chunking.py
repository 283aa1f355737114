"""Cut parsed elements into embedder-sized chunks that keep their provenance.

Rules, in order of priority:
- a chunk never exceeds the token budget (the embedder silently truncates past its limit);
- a chunk never spans two pages, slides or sheets, so its citation names one place;
- a table row, and a table or list that fits in one chunk, is not split across chunks;
- a heading starts a new chunk once the current one is reasonably full;
- consecutive chunks of the same page overlap by roughly `overlap` of the budget.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from desktop_app.core.records import Chunk, Element

__all__ = ["ChunkRecipe", "Header", "TokenCounter", "chunk_document", "chunk_id", "document_text",
           "next_offset", "rebase"]

TokenCounter = Callable[[Sequence[str]], list[int]]
# The context header of a chunk, given the heading it stands under (None before any heading).
Header = Callable[[str | None], str]

_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+(?=[\"'(\[]?[A-Z0-9À-Ý])")
_GROUPED_KINDS = {"ListItem", "Table"}


@dataclass(slots=True)
class _Unit:
    """An atomic piece of text: a sentence, a table row, a short element."""

    text: str
    tokens: int
    kind: str
    page: int | None
    section: str | None
    start: int
    end: int
    group: int | None  # units of one table, or of one run of list items, share a group id
    element: int  # index of the element the unit came from
    heading: bool = False


def chunk_id(document: str, start: int, text: str) -> str:
    """A content hash: the same text at the same place of the same file gets the same id."""
    digest = hashlib.sha256(f"{document}\x00{start}\x00{text}".encode())
    return digest.hexdigest()[:32]


def chunk_document(
    document: str,
    elements: Sequence[Element],
    count_tokens: TokenCounter,
    max_tokens: int,
    overlap: float = 0.12,
    *,
    offset: int = 0,
    first_ordinal: int = 0,
    header: Header | None = None,
) -> list[Chunk]:
    """Chunks for one document, in reading order; each chunk's text is a slice of `document_text`.

    A document read in parts is chunked part by part: `offset` is where this part's text
    starts in the whole document's (see `next_offset`), `first_ordinal` the number of chunks
    before it. `header` gives each chunk its context, from the heading it stands under (a
    chunk that starts with its heading is given None: its text says it already)."""
    text = document_text(elements)
    units = _units(elements, count_tokens, max_tokens)
    headings = _headings(units)
    chunks = []
    for i, piece in enumerate(_pack(units, max_tokens, overlap)):
        heading = None if piece[0].heading else headings[id(piece[0])]
        context = header(heading) if header else ""
        chunks.append(_make_chunk(document, text, first_ordinal + i, piece, offset, context))
    return chunks


@dataclass(frozen=True, slots=True)
class ChunkRecipe:
    """How another process cuts a document exactly as this one would: the embedder's tokenizer
    (a file the tokenizers library reads, counting as the embedder counts), the budget and the
    overlap. Its chunks are cut as if the document started there, each carrying the heading
    it stands under as its context; `rebase` puts them in place."""

    tokenizer_file: str
    max_tokens: int
    overlap: float

    def chunk(self, elements: Sequence[Element]) -> list[Chunk]:
        counter = _tokenizer(self.tokenizer_file)

        def count(texts: Sequence[str]) -> list[int]:
            return [len(e.ids) for e in counter.encode_batch_fast(list(texts),
                                                                  add_special_tokens=False)]

        return chunk_document("", elements, count, self.max_tokens, self.overlap,
                              header=lambda heading: heading or "")


def rebase(chunks: Sequence[Chunk], document: str, offset: int, first_ordinal: int,
           header: Header) -> list[Chunk]:
    """Chunks a ChunkRecipe cut, as `chunk_document` would have made them for `document`
    at `offset` after `first_ordinal` chunks, with `header`'s context."""
    return [dataclasses.replace(
        c, id=chunk_id(document, offset + c.start, c.text), document=document,
        ordinal=first_ordinal + c.ordinal, start=offset + c.start, end=offset + c.end,
        context=header(c.context or None)) for c in chunks]


@functools.lru_cache(maxsize=4)
def _tokenizer(path: str) -> Any:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(path)


def _headings(units: list[_Unit]) -> dict[int, str | None]:
    """For each unit (by id), the text of the last heading at or before it."""
    current: str | None = None
    found: dict[int, str | None] = {}
    for unit in units:
        if unit.heading:
            current = unit.text
        found[id(unit)] = current
    return found


def next_offset(offset: int, elements: Sequence[Element]) -> int:
    """Where the part after one of `elements` (starting at `offset`) starts in the document's
    text: parts are joined as elements are, by a blank line."""
    text = document_text(elements)
    return offset + len(text) + 2 if text else offset


def document_text(elements: Sequence[Element]) -> str:
    """The document's extracted text; chunk spans are offsets into it."""
    return "\n\n".join(t for t in (e.text.strip() for e in elements) if t)


def _units(elements: Sequence[Element], count_tokens: TokenCounter, max_tokens: int) -> list[_Unit]:
    """Split elements into atomic units, each with its exact span in `document_text`."""
    pieces: list[tuple[str, int, Element, int]] = []  # text, start, element, element index
    offset = 0
    for index, element in enumerate(e for e in elements if e.text.strip()):
        body = element.text.strip()
        cursor = 0
        for text in _split_element(element.kind, body):
            found = body.find(text, cursor)
            cursor = found if found >= 0 else cursor
            pieces.append((text, offset + cursor, element, index))
            cursor += len(text)
        offset += len(body) + 2
    counts = count_tokens([p[0] for p in pieces]) if pieces else []
    units: list[_Unit] = []
    for (text, start, element, index), tokens in zip(pieces, counts, strict=True):
        cursor = 0
        for part, part_tokens in _fit(text, tokens, count_tokens, max_tokens):
            found = text.find(part.split()[0], cursor) if part.split() else -1
            cursor = found if found >= 0 else cursor
            group = index if element.kind in _GROUPED_KINDS else None
            units.append(_Unit(part, part_tokens, element.kind, element.page, element.section,
                               start + cursor, start + cursor + len(part), group, index,
                               element.kind == "Title"))
            cursor += len(part)
    return _number_list_runs(units)


def _split_element(kind: str, text: str) -> list[str]:
    if kind == "Table":
        rows = [row.strip() for row in text.split("\n") if row.strip()]
        return rows or [text]
    if kind in ("NarrativeText", "UncategorizedText", "Text"):
        # Sentences are the units of packing and of overlap.
        return [s for s in _SENTENCE_END.split(text) if s.strip()]
    return [text]


def _fit(text: str, tokens: int, count_tokens: TokenCounter, max_tokens: int) -> list[tuple[str, int]]:
    """The text as one piece, or cut at sentences (then words) when it exceeds the budget."""
    if tokens <= max_tokens:
        return [(text, tokens)]
    sentences = [s for s in _SENTENCE_END.split(text) if s]
    if len(sentences) == 1:
        return _split_words(text, count_tokens, max_tokens)
    out: list[tuple[str, int]] = []
    for sentence, n in zip(sentences, count_tokens(sentences), strict=True):
        out.extend(_fit(sentence, n, count_tokens, max_tokens) if n > max_tokens else [(sentence, n)])
    return out


def _split_words(text: str, count_tokens: TokenCounter, max_tokens: int) -> list[tuple[str, int]]:
    words = text.split()
    out: list[tuple[str, int]] = []
    step = max(1, len(words) // max(1, -(-count_tokens([text])[0] // max_tokens)))
    while words:
        take = min(step, len(words))
        while take > 1 and count_tokens([" ".join(words[:take])])[0] > max_tokens:
            take = max(1, take * 3 // 4)
        piece = " ".join(words[:take])
        out.append((piece, count_tokens([piece])[0]))
        words = words[take:]
    return out


def _number_list_runs(units: list[_Unit]) -> list[_Unit]:
    """Give each run of consecutive list items one group id, so a short list stays together."""
    previous: _Unit | None = None
    for unit in units:
        if unit.kind == "ListItem" and previous is not None and previous.kind == "ListItem":
            if previous.page == unit.page:
                unit.group = previous.group
        previous = unit
    return units


def _pack(units: list[_Unit], max_tokens: int, overlap: float) -> list[list[_Unit]]:
    chunks: list[list[_Unit]] = []
    current: list[_Unit] = []
    used = 0
    group_sizes = _group_sizes(units)
    for i, unit in enumerate(units):
        starts_group = unit.group is not None and (i == 0 or units[i - 1].group != unit.group)
        if current and _must_break(current, used, unit, starts_group, group_sizes, max_tokens):
            chunks.append(current)
            current = _overlap_tail(current, unit, max_tokens, overlap)
            used = sum(u.tokens for u in current)
        current.append(unit)
        used += unit.tokens
    if current:
        chunks.append(current)
    return chunks


def _group_sizes(units: list[_Unit]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for unit in units:
        if unit.group is not None:
            sizes[unit.group] = sizes.get(unit.group, 0) + unit.tokens
    return sizes


def _must_break(
    current: list[_Unit], used: int, unit: _Unit, starts_group: bool,
    group_sizes: dict[int, int], max_tokens: int,
) -> bool:
    last = current[-1]
    if (unit.page, unit.section) != (last.page, last.section):
        return True
    if used + unit.tokens > max_tokens:
        return True
    if unit.heading and used > max_tokens // 2:
        return True
    if starts_group and unit.group is not None:
        size = group_sizes[unit.group]
        # A table or list that fits in a chunk but not in what is left starts a fresh chunk.
        return size <= max_tokens and used + size > max_tokens
    return False


def _overlap_tail(previous: list[_Unit], nxt: _Unit, max_tokens: int, overlap: float) -> list[_Unit]:
    """The last units of the previous chunk, carried over as context for the next one."""
    last = previous[-1]
    if (nxt.page, nxt.section) != (last.page, last.section) or nxt.heading:
        return []
    budget = min(int(max_tokens * overlap), max_tokens - nxt.tokens)
    tail: list[_Unit] = []
    used = 0
    for unit in reversed(previous[1:]):  # never carry the whole previous chunk
        if used + unit.tokens > budget or unit.heading:
            break
        if nxt.group is not None and unit.group == nxt.group:
            break  # rows of the same table are not repeated
        tail.insert(0, unit)
        used += unit.tokens
    return tail


def _make_chunk(document: str, text: str, ordinal: int, units: list[_Unit], offset: int,
                context: str) -> Chunk:
    first, last = units[0], units[-1]
    body = text[first.start:last.end]
    kinds = tuple(dict.fromkeys(u.kind for u in units))
    start = offset + first.start
    return Chunk(
        id=chunk_id(document, start, body), document=document, ordinal=ordinal,
        text=body, page=first.page, section=first.section,
        start=start, end=offset + last.end, kinds=kinds, context=context,
    )
