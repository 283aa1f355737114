"""Plain data passed between the core's stages and out to its clients."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

__all__ = [
    "AddFinished",
    "Answer",
    "AnswerToken",
    "Chunk",
    "Citation",
    "DocumentRecord",
    "DocumentStatus",
    "Element",
    "FileFinished",
    "FileProgress",
    "FileStarted",
    "Passage",
    "Progress",
    "Repairing",
    "SentenceCheck",
    "Source",
    "Syncing",
    "WaitingForWriter",
]


@dataclass(frozen=True, slots=True)
class Element:
    """One block of text a parser found: a paragraph, title, list item, table, ..."""

    text: str
    kind: str = "NarrativeText"
    page: int | None = None  # PDF page or PPTX slide, 1-based
    section: str | None = None  # XLSX sheet name, e-mail part, ...


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage cut from one document, small enough for the embedder, with its provenance."""

    id: str
    document: str
    ordinal: int
    text: str
    page: int | None
    section: str | None
    start: int  # character span in the document's extracted text
    end: int
    kinds: tuple[str, ...] = ()
    # A header of the document's context (title, period, section) that the text itself may
    # lack: embedded and searched with the text, never shown or cited as its words.
    context: str = ""

    @property
    def searchable_text(self) -> str:
        """What the embedder reads: the context header, then the passage."""
        return f"{self.context}\n\n{self.text}" if self.context else self.text


@dataclass(slots=True)
class Passage:
    """A chunk as retrieval returned it, with the evidence for its rank."""

    chunk: Chunk
    score: float  # fused score used for ranking
    dense_score: float | None = None  # cosine similarity
    dense_rank: int | None = None  # 1-based, None when not in the dense list
    keyword_score: float | None = None  # BM25 (higher is better)
    keyword_rank: int | None = None
    document_match: float | None = None  # how well its document's card matched, 1 = best

    def to_json(self, n: int) -> dict[str, Any]:
        return {
            "n": n,
            "document": self.chunk.document,
            "page": self.chunk.page,
            "text": self.chunk.text,
            "score": round(self.score, 6),
        }

    def explain(self) -> dict[str, Any]:
        return {
            "dense_rank": self.dense_rank,
            "dense_score": None if self.dense_score is None else round(self.dense_score, 4),
            "keyword_rank": self.keyword_rank,
            "keyword_score": None if self.keyword_score is None else round(self.keyword_score, 4),
            "document_match": None if self.document_match is None else round(self.document_match, 4),
            "fused_score": round(self.score, 6),
            "context": self.chunk.context,
        }


@dataclass(frozen=True, slots=True)
class Citation:
    """A marker [n] in an answer, resolved to the passage it points at."""

    n: int
    passage: Passage
    # True when the app attached it: the model cited nothing, or cited a passage that does not
    # state the sentence while this one does.
    matched: bool = False
    # The part of the passage that supports the citing sentences: offsets into its text.
    highlight: tuple[int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        data = self.passage.to_json(self.n)
        data["matched"] = self.matched
        data["explain"] = self.passage.explain()
        data["highlight"] = list(self.highlight) if self.highlight else None
        return data


@dataclass(frozen=True, slots=True)
class SentenceCheck:
    """Whether one answer sentence is supported by the passages it cites."""

    sentence: str
    cited: tuple[int, ...]
    lexical: float  # best share of the sentence's content words found in a cited passage
    semantic: float | None  # best embedding cosine with a cited passage, when measured
    supported: bool
    missing_figures: tuple[str, ...] = ()  # numbers the sentence states that no cited passage has

    def to_json(self) -> dict[str, Any]:
        return {"sentence": self.sentence, "cited": list(self.cited), "lexical": self.lexical,
                "semantic": self.semantic, "supported": self.supported,
                "missing_figures": list(self.missing_figures)}


@dataclass(frozen=True, slots=True)
class Source:
    """One passage shown beside an answer, as a person reads it and as its thread keeps it."""

    n: int  # its number in the answer's text
    document: str
    page: int | None
    text: str
    score: float
    cited: bool = True  # False: the model was given it but did not cite it
    matched: bool = False  # the app attached it (see Citation.matched)
    highlight: tuple[int, int] | None = None  # the supporting part: offsets into `text`
    explain: dict[str, Any] = field(default_factory=dict)  # Passage.explain(): why it ranked

    @property
    def supporting_text(self) -> str:
        """The part of the passage that supports the answer; all of it when none is marked."""
        return self.text[self.highlight[0]:self.highlight[1]] if self.highlight else self.text

    @classmethod
    def of(cls, passage: Passage, n: int, cited: bool, matched: bool = False,
           highlight: tuple[int, int] | None = None) -> Source:
        chunk = passage.chunk
        return cls(n, chunk.document, chunk.page, chunk.text, passage.score, cited, matched,
                   highlight, passage.explain())

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "document": self.document, "page": self.page, "text": self.text,
                "score": round(self.score, 6), "cited": self.cited, "matched": self.matched,
                "highlight": list(self.highlight) if self.highlight else None,
                "explain": self.explain}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Source:
        """Tolerant of threads saved before a field existed."""
        span = data.get("highlight")
        return cls(int(data["n"]), str(data["document"]), data.get("page"), str(data["text"]),
                   float(data.get("score", 0.0)), bool(data.get("cited", True)),
                   bool(data.get("matched", False)),
                   (int(span[0]), int(span[1])) if span else None, data.get("explain") or {})


_PASSAGE_KEYS = ("n", "document", "page", "text", "score")


@dataclass(slots=True)
class Answer:
    """The finished answer: text whose every [n] marker resolves to a citation."""

    text: str
    citations: list[Citation]
    retrieved: list[Passage]
    answered_from_documents: bool = True
    removed_markers: list[int] = field(default_factory=list)
    stopped: bool = False
    thread_id: int | None = None  # the chat thread the answer was saved in
    grounding: list[SentenceCheck] = field(default_factory=list)
    model: str = ""  # the model that wrote it and where it ran: "Qwen2.5-7B…: 29/29 layers on CUDA0"
    # A declined answer's first reading, which its cited passage did not confirm on a second
    # look ("" when there was none).
    unconfirmed: str = ""

    @property
    def unsupported(self) -> list[SentenceCheck]:
        return [check for check in self.grounding if not check.supported]

    def sources(self) -> list[Source]:
        """Every passage the model was given, as a person reads them: the cited ones first,
        numbered as in the text, then the others, numbered on and not cited (found by the
        app, not cited by the model)."""
        cited = {c.passage.chunk.id for c in self.citations}
        out = [Source.of(c.passage, c.n, True, c.matched, c.highlight) for c in self.citations]
        n = max((c.n for c in self.citations), default=0)
        for passage in self.retrieved:
            if passage.chunk.id not in cited:
                n += 1
                out.append(Source.of(passage, n, cited=False))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "thread": self.thread_id,
            "answer": self.text,
            "citations": [c.to_json() for c in self.citations],
            "retrieved": [{k: v for k, v in source.to_json().items() if k in _PASSAGE_KEYS}
                          for source in self.sources()],
            "answered_from_documents": self.answered_from_documents,
            "removed_markers": self.removed_markers,
            "stopped": self.stopped,
            "grounding": [check.to_json() for check in self.grounding],
            "model": self.model,
            "unconfirmed": self.unconfirmed,
        }


@dataclass(frozen=True, slots=True)
class AnswerStage:
    """Where an answer is before its first word: "loading" the model (first answer only),
    "searching" the documents, then "reading"
    the prompt (`passages` passages, `prompt_tokens` tokens in all, about `estimate_s`
    seconds at the model's last measured reading speed; less when a follow-up's earlier
    turn is still in the model's cache)."""

    stage: str  # "loading" (the model, before the first answer) | "searching" | "reading" | "checking"
    passages: int = 0
    prompt_tokens: int = 0
    estimate_s: float | None = None

    def describe(self) -> str:
        if self.stage == "loading":
            return "Loading the model (the first answer waits for it)"
        if self.stage == "searching":
            return "Searching your documents"
        if self.stage == "checking":
            return "Checking the answer against the passage it cites"
        about = f", about {self.estimate_s:.0f} s" if self.estimate_s and self.estimate_s >= 1 else ""
        return (f"Reading {self.passages} passage{'s' if self.passages != 1 else ''} "
                f"({self.prompt_tokens:,} tokens{about})")


@dataclass(frozen=True, slots=True)
class AnswerToken:
    """A piece of answer text as it streams."""

    text: str


class DocumentStatus(str, Enum):
    INDEXED = "indexed"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """What the workspace knows about one file."""

    path: str
    status: DocumentStatus
    chunks: int = 0
    error: str | None = None
    pages: int | None = None
    size_bytes: int = 0

    @property
    def chunks_text(self) -> str:
        """"1 chunk", "14 chunks": how lists of documents show the count."""
        return f"{self.chunks} chunk{'' if self.chunks == 1 else 's'}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


@dataclass(frozen=True, slots=True)
class FileStarted:
    index: int  # 1-based
    total: int
    path: str
    bytes_done: int  # bytes of the batch finished before this file
    bytes_total: int


@dataclass(frozen=True, slots=True)
class FileProgress:
    """How far the current file is: bytes of it read and passages embedded so far (none of it
    is searchable until the whole file is done)."""

    index: int
    total: int
    path: str
    file_bytes_done: int
    file_bytes: int
    chunks_done: int


@dataclass(frozen=True, slots=True)
class FileFinished:
    index: int
    total: int
    record: DocumentRecord
    bytes_done: int
    bytes_total: int
    pages_done: int
    seconds: float
    stage_seconds: dict[str, float] = field(default_factory=dict)  # parse, chunk, embed, store


@dataclass(frozen=True, slots=True)
class AddFinished:
    records: list[DocumentRecord]
    removed: list[str]  # documents whose files are gone, removed from the workspace
    ignored: list[str]  # files in the given folders whose format is not supported

    def count(self, status: DocumentStatus) -> int:
        return sum(1 for r in self.records if r.status is status)

    def summary(self) -> str:
        """"3 indexed, 12 unchanged, 1 removed (deleted from disk), 1 could not be read, 2 in
        unsupported formats"; "" when nothing at all happened."""
        parts = [f"{self.count(DocumentStatus.INDEXED)} indexed"]
        counts = [(self.count(DocumentStatus.SKIPPED), "unchanged"),
                  (len(self.removed), "removed (deleted from disk)"),
                  (self.count(DocumentStatus.FAILED), "could not be read"),
                  (len(self.ignored), "in unsupported formats")]
        parts += [f"{n} {what}" for n, what in counts if n]
        unchanged = self.count(DocumentStatus.SKIPPED) == len(self.records)
        return "" if unchanged and not self.removed and not self.ignored else ", ".join(parts)


@dataclass(frozen=True, slots=True)
class WaitingForWriter:
    """Another process is changing this workspace's documents; this one waits its turn."""

    message: str  # "waiting for another add in progress (pid 4242, since 12:03:10)"


@dataclass(frozen=True, slots=True)
class Repairing:
    """The workspace's search index was damaged or missing; it is rebuilt from the passages
    kept in the workspace database (nothing is parsed again, nothing is lost)."""

    message: str  # "The search index of 'Research' is damaged (...); rebuilding it ..."
    done: int  # passages embedded again so far
    total: int


@dataclass(frozen=True, slots=True)
class Syncing:
    """A shared workspace's local copy of the passages is brought up to date with its server:
    documents others added or changed are fetched, those they removed are dropped."""

    message: str  # "Bringing 'Team' up to date with its server: 3 documents added or ..."
    done: int  # documents brought up to date so far
    total: int


Progress = WaitingForWriter | Repairing | Syncing | FileStarted | FileProgress | FileFinished | AddFinished


# What answering a question yields, in order: a wait for another writer or a repair of the
# index when needed, its stages, the answer's text as it is written, then the Answer.
AnswerEvent = WaitingForWriter | Repairing | Syncing | AnswerStage | AnswerToken | Answer
