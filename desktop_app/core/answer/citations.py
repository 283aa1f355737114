"""Turn the [n] markers of a generated answer into citations, and check them."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from desktop_app.core.records import Citation, Passage, SentenceCheck
from desktop_app.core.search.keywords import query_terms

__all__ = [
    "attribute_sentences", "check_grounding", "highlight_support", "is_decline",
    "number_for_reading", "repoint_citations", "resolve_markers",
]

_MARKER = re.compile(r"\s?\[(\d+(?:\s*,\s*\d+)*)\]")
# A sentence ends at . ! ? after a non-digit (so "2. Next item" is not split), or at a line end.
# Each separator takes all the whitespace around it, so splitting never yields an empty piece.
_SENTENCE = re.compile(r"(?<=[^\d\s][.!?])\s+|\s*\n\s*")
_DECLINE = re.compile(
    r"\b(do(?:es)?\s*n[o']t\s+contain|do(?:es)? not (?:mention|say|include|provide)|"
    r"(?:can ?not|can't|could ?not|couldn't|unable to) (?:find|answer|determine)|"
    r"no (?:information|mention)|not (?:mentioned|provided|stated|specified) in|"
    r"i (?:do ?n[o']t|don't) know)\b",
    re.IGNORECASE,
)
MIN_SUPPORT = 0.5  # share of a sentence's content words a passage must hold to support it
MIN_SHARED_WORDS = 3
WORD_FOR_WORD = 2.0  # a passage holds a whole sentence as written: above any share of words
MIN_SIMILARITY = 0.6  # cosine of sentence and passage embeddings (all-MiniLM-L6-v2 scale)

# (sentences, passages) -> a len(sentences) x len(passages) matrix of cosine similarities
Similarity = Callable[[list[str], list[str]], Sequence[Sequence[float]]]


def resolve_markers(text: str, passages: Sequence[Passage]) -> tuple[str, list[Citation], list[int]]:
    """Keep markers that point at a passage, drop the others; returns (text, citations, dropped)."""
    cited: dict[int, Citation] = {}
    dropped: list[int] = []

    def replace(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        valid = [n for n in numbers if 1 <= n <= len(passages)]
        dropped.extend(n for n in numbers if n not in valid)
        for n in valid:
            cited.setdefault(n, Citation(n, passages[n - 1]))
        if not valid:
            return ""
        return (" " if match.group(0).startswith(" ") else "") + "".join(f"[{n}]" for n in dict.fromkeys(valid))

    cleaned = _MARKER.sub(replace, text)
    return cleaned.strip(), sorted(cited.values(), key=lambda c: c.n), dropped


def is_decline(text: str) -> bool:
    """Whether the answer says the passages do not hold the answer."""
    return bool(_DECLINE.search(text))


def attribute_sentences(
    text: str, passages: Sequence[Passage], similarity: Similarity | None = None
) -> tuple[str, list[Citation]]:
    """For an answer with no markers: cite each sentence to the passage that supports it.

    A passage supports a sentence when it holds at least half of the sentence's content words
    (two or more), or, given `similarity`, when their embeddings are at least MIN_SIMILARITY
    alike. Unsupported sentences stay uncited rather than get a made-up source.
    """
    sentences = _SENTENCE.split(text.strip())
    vocabularies = [set(query_terms(p.chunk.text)) for p in passages]
    semantic = similarity(sentences, [p.chunk.text for p in passages]) if similarity else None
    out: list[str] = []
    cited: dict[int, Citation] = {}
    for row, sentence in enumerate(sentences):
        words = set(query_terms(sentence))
        best, best_share = 0, 0.0
        for n, vocabulary in enumerate(vocabularies, start=1):
            shared = len(words & vocabulary)
            share = shared / len(words) if words else 0.0
            if shared >= MIN_SHARED_WORDS and share > best_share:
                best, best_share = n, share
        if semantic is not None and (best_share < MIN_SUPPORT) and len(words) >= MIN_SHARED_WORDS:
            column = max(range(len(passages)), key=lambda j: semantic[row][j])
            if semantic[row][column] >= MIN_SIMILARITY:
                best, best_share = column + 1, MIN_SUPPORT
        if best and best_share >= MIN_SUPPORT:
            cited.setdefault(best, Citation(best, passages[best - 1], matched=True))
            sentence = _insert_marker(sentence, best)
        out.append(sentence)
    return _rejoin(text, out), sorted(cited.values(), key=lambda c: c.n)


def _rejoin(original: str, sentences: list[str]) -> str:
    """Put sentences back with the separators the original had (spaces or line breaks)."""
    separators = [m.group(0) for m in _SENTENCE.finditer(original.strip())]
    out = sentences[0] if sentences else ""
    for separator, sentence in zip(separators, sentences[1:], strict=False):
        out += separator + sentence
    return out


def _insert_marker(sentence: str, n: int) -> str:
    stripped = sentence.rstrip()
    if stripped and stripped[-1] in ".!?":
        return f"{stripped[:-1]} [{n}]{stripped[-1]}"
    return f"{stripped} [{n}]"


def repoint_citations(text: str, citations: Sequence[Citation],
                      passages: Sequence[Passage]) -> tuple[str, list[Citation]]:
    """Move a sentence's citation to the passage that states it, when the passage the model
    cited does not and another one given to it does.

    Small models often write the wrong number ("1858 [4]" where passage 1 says 1858 and 4 never
    mentions it): the answer is right, its citation is not, and a person checking it would find
    nothing. A cited passage states a sentence when it holds the sentence word for word, or at
    least half of its content words and every figure in it; one that holds it word for word
    is preferred to one that holds only part. Sentences the cited passages state, and
    sentences no passage states, keep the model's citation (the grounding check then flags the
    latter). Citations the app chose are `matched`.
    """
    # Each passage read once: as flat lower-case text, its content words and its figures.
    read = [(_flat(p.chunk.text), set(query_terms(p.chunk.text)), figures(p.chunk.text))
            for p in passages]
    out: list[str] = []
    chosen: set[int] = set()
    kept: set[int] = set()
    for sentence in _SENTENCE.split(text.strip()):
        numbers = [int(n) for n in _PLAIN_MARKER.findall(sentence)]
        plain = _MARKER.sub("", sentence).strip()
        cited = [n for n in numbers if 1 <= n <= len(read)]
        scores = _statement_scores(plain, read) if cited else []
        stated = max((scores[n - 1] for n in cited), default=0.0)
        # Kept where a cited passage states it, unless that holds only part of it and another
        # passage holds it word for word ("Huntington Boulevard" against "Huntington Park").
        if not cited or not any(scores) or stated == WORD_FOR_WORD or (
                stated and max(scores) < WORD_FOR_WORD):
            kept.update(cited)
            out.append(sentence)
            continue
        best = max(range(len(read)), key=scores.__getitem__) + 1  # ties: the best-ranked
        chosen.add(best)
        out.append(_insert_marker(plain, best))
    if not chosen:
        return text, list(citations)
    repointed, resolved, _ = resolve_markers(_rejoin(text, out), passages)
    return repointed, [replace(c, matched=c.n in chosen and c.n not in kept) for c in resolved]


def _statement_scores(sentence: str,
                      passages: Sequence[tuple[str, set[str], set[str]]]) -> list[float]:
    """How plainly each passage (flat text, content words, figures) states a sentence:
    WORD_FOR_WORD, else the share of its content words the passage holds when that is half or
    more and every figure is there, else 0."""
    words, numbers = set(query_terms(sentence)), figures(sentence)
    if not words and not numbers:
        return [0.0] * len(passages)  # nothing to look for ("Yes.")
    flat = _flat(sentence).strip(" .!?")
    scores = []
    for text, vocabulary, held in passages:
        if flat and flat in text:
            scores.append(WORD_FOR_WORD)
        elif not numbers <= held:
            scores.append(0.0)
        else:
            share = len(words & vocabulary) / len(words) if words else 1.0
            scores.append(share if share >= MIN_SUPPORT else 0.0)
    return scores


def _flat(text: str) -> str:
    return _SPACE.sub(" ", text).lower()


_SPACE = re.compile(r"\s+")
_PASSAGE_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")


def highlight_support(text: str, citations: Sequence[Citation]) -> list[Citation]:
    """Mark, in each cited passage, the sentences that share most words with what cites it."""
    citing: dict[int, set[str]] = {}
    for sentence, numbers in _citing_sentences(text):
        for number in numbers:
            citing.setdefault(number, set()).update(query_terms(sentence))
    out = []
    for citation in citations:
        words = citing.get(citation.n, set())
        out.append(replace(citation, highlight=_best_span(citation.passage.chunk.text, words)))
    return out


def _best_span(passage: str, words: set[str]) -> tuple[int, int] | None:
    """The passage's run of sentences that holds the most of `words` (two or more)."""
    scored = [(len(words & set(query_terms(m.group(0)))), m.start(), m.end())
              for m in _PASSAGE_SENTENCE.finditer(passage)]
    best = max((s for s in scored), default=None, key=lambda s: s[0])
    if best is None or best[0] < 2:
        return None
    start = best[1] + (len(passage[best[1]:best[2]]) - len(passage[best[1]:best[2]].lstrip()))
    return start, best[2]


def check_grounding(
    text: str, citations: Sequence[Citation], similarity: Similarity | None = None
) -> list[SentenceCheck]:
    """Check each sentence that cites [n] against passage n: is what it says in there?

    Supported means a cited passage holds at least half of the sentence's content words, or
    (given `similarity`) is at least MIN_SIMILARITY alike in embedding space.
    """
    by_number = {c.n: c.passage.chunk.text for c in citations}
    cited_sentences = []
    for plain, cited in _citing_sentences(text):
        numbers = tuple(n for n in cited if n in by_number)
        if numbers and len(query_terms(plain)) >= 2:
            cited_sentences.append((plain, numbers))
    if not cited_sentences:
        return []
    semantic = None
    if similarity is not None:
        numbers_in_order = list(by_number)
        matrix = similarity([s for s, _ in cited_sentences], [by_number[n] for n in numbers_in_order])
        semantic = [{n: float(row[j]) for j, n in enumerate(numbers_in_order)} for row in matrix]
    checks = []
    for row, (sentence, numbers) in enumerate(cited_sentences):
        words = set(query_terms(sentence))
        lexical = max(len(words & set(query_terms(by_number[n]))) / len(words) for n in numbers)
        cosine = max(semantic[row][n] for n in numbers) if semantic is not None else None
        supported = lexical >= MIN_SUPPORT or (cosine is not None and cosine >= MIN_SIMILARITY)
        # A figure is a claim the words around it cannot vouch for: each one must be in a
        # cited passage ("The answer is: 3 [1]" when the memo says 200 laptops is not).
        cited_figures = set().union(*(figures(by_number[n]) for n in numbers))
        missing = tuple(f for f in sorted(figures(sentence)) if f not in cited_figures)
        checks.append(SentenceCheck(sentence, numbers, round(lexical, 3),
                                    None if cosine is None else round(cosine, 3),
                                    supported and not missing, missing))
    return checks


_FIGURE = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")


def figures(text: str) -> set[str]:
    """The numbers written in a text, as digits (thousands separators dropped, a trailing
    decimal zero kept as written): "1,200 units at 3.50" -> {"1200", "3.50"}."""
    found = set()
    for match in _FIGURE.finditer(text):
        value = match.group(0)
        if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", value):  # 1,200 or 1,200.5
            value = value.replace(",", "")
        found.add(value.rstrip(".,"))
    return found


def _citing_sentences(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """Each answer sentence that cites passages, without its markers, and the numbers it cites
    (each once, in order)."""
    out = []
    for sentence in _SENTENCE.split(text.strip()):
        numbers = tuple(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", sentence)))
        if numbers:
            out.append((_MARKER.sub("", sentence).strip(), numbers))
    return out


_PLAIN_MARKER = re.compile(r"\[(\d+)\]")


def number_for_reading(
    text: str, citations: Sequence[Citation], grounding: Sequence[SentenceCheck] = ()
) -> tuple[str, list[Citation], list[SentenceCheck]]:
    """Renumber an answer's sources 1, 2, 3 in the order the text first cites them: the
    prompt's numbering (a reader saw "[2] [4]" with no [1]) means nothing to a person."""
    order = [int(m.group(1)) for m in _PLAIN_MARKER.finditer(text)]
    order += [c.n for c in citations]
    mapping = {old: new for new, old in enumerate(dict.fromkeys(order), start=1)}
    renumbered = _PLAIN_MARKER.sub(lambda m: f"[{mapping.get(int(m.group(1)), m.group(1))}]", text)
    return (renumbered,
            sorted((replace(c, n=mapping[c.n]) for c in citations), key=lambda c: c.n),
            [replace(g, cited=tuple(mapping.get(n, n) for n in g.cited)) for g in grounding])
