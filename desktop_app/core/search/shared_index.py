"""A workspace's passages on a Chroma server, shared by everyone whose app points at it.

The server holds, per shared workspace, two collections: `<name>-chunks` (each passage's
vector, its text and where it stands in its document) and `<name>-documents` (one record per
document, written only after all its passages are there, so a document half-written by an
add that failed is never taken for indexed). Each app keeps a local copy of the passages in
its workspace database for keyword search and for showing and citing them; `pull` brings
that copy up to date from the server, document by document.

Chroma's open-source server has no working authentication, so the supported setup puts it
behind a proxy that terminates TLS and checks a bearer token (docs/scale-out.md). Here the
token travels in every request's Authorization header, TLS is verified (against a CA bundle
when one is given), and plain http to another computer is refused unless allowed.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from desktop_app.core.addresses import server_url_problem
from desktop_app.core.errors import AppError, ServerError, UserError
from desktop_app.core.offline import seal_environment
from desktop_app.core.records import Chunk

__all__ = ["DocumentManifest", "SharedIndex", "SharedStore"]

log = logging.getLogger(__name__)
PAGE = 1000  # records read from the server per request
TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class SharedStore:
    """Where a shared workspace lives: kept in its workspace.json (the token is not: it is
    in the key store, under `url`)."""

    url: str  # https://kb.example.org[:port]
    collection: str  # the shared workspace's name on the server
    verify_tls: bool = True
    ca_bundle: str = ""  # PEM file of authorities to trust ("" = the system's)
    allow_http: bool = False

    def __post_init__(self) -> None:
        if not self.url:
            raise UserError("give the shared workspace server's address (https://...)")
        problem = server_url_problem(self.url, self.allow_http)
        if problem:
            raise UserError(problem.replace("API key", "token").replace(
                "set server_allow_http=true", "allow plain http (--allow-http)"))
        if urlsplit(self.url).path.strip("/"):
            raise UserError(f"{self.url!r}: give the Chroma server's address without a path")
        name = self.collection
        if not (3 <= len(name) <= 60 and name.isascii()
                and name.replace("-", "").replace("_", "").isalnum()
                and name[0].isalnum() and name[-1].isalnum()):
            raise UserError(f"{name!r} cannot name a shared workspace: use 3 to 60 letters, "
                            "digits, - and _, starting and ending with a letter or digit")

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @staticmethod
    def name_for(workspace: str) -> str:
        """A workspace's name as its name on the server: "Team Docs 2025" → team-docs-2025."""
        words = "".join(c if c.isascii() and c.isalnum() else " " for c in workspace.lower()).split()
        slug = "-".join(words)
        return slug if len(slug) >= 3 else f"workspace-{slug}".rstrip("-")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SharedStore:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class DocumentManifest:
    """A document as the server knows it: complete once this record exists."""

    path: str
    sha256: str
    chunks: int
    pages: int | None
    size_bytes: int
    signature: str


class SharedIndex:
    """The VectorStore protocol on a Chroma server, plus the documents' records."""

    def __init__(self, store: SharedStore, token: str | None) -> None:
        seal_environment()  # chromadb reads its telemetry switch at import
        import chromadb
        from chromadb.config import Settings

        self.store = store
        parts = urlsplit(store.url)
        https = parts.scheme == "https"
        verify: bool | str = (store.ca_bundle or True) if store.verify_tls else False
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._check_reachable(headers, verify)
        with self._errors("opening the shared workspace"):
            self._client: Any = chromadb.HttpClient(
                host=parts.hostname or "", port=parts.port or (443 if https else 80), ssl=https,
                headers=headers, settings=Settings(anonymized_telemetry=False,
                                                   chroma_server_ssl_verify=verify))
            self._chunks: Any = self._collection("chunks")
            self._documents: Any = self._collection("documents")
            self._batch = int(self._client.get_max_batch_size())

    def _collection(self, kind: str) -> Any:
        return self._client.get_or_create_collection(
            f"{self.store.collection}-{kind}", embedding_function=None,
            configuration={"hnsw": {"space": "cosine", "ef_search": 200, "ef_construction": 200}})

    def _check_reachable(self, headers: dict[str, str], verify: bool | str) -> None:
        """One request before Chroma's client is made, for an error a person can act on
        (Chroma's own says "Could not connect" for a refused token and a bad certificate
        alike)."""
        import httpx

        where = f"the shared workspace server {self.store.host}"
        try:
            response = httpx.get(f"{self.store.url.rstrip('/')}/api/v2/heartbeat",
                                 headers=headers, verify=verify, timeout=TIMEOUT_S)
        except httpx.ConnectError as exc:
            if "CERTIFICATE" in str(exc).upper() or "SSL" in str(exc).upper():
                raise ServerError(f"{where} presented a certificate this computer does not "
                                  f"trust ({exc}); give its authority with --ca-bundle") from exc
            raise ServerError(f"cannot connect to {where}: is it running, and is the address "
                              "right?") from exc
        except httpx.TimeoutException as exc:
            raise ServerError(f"{where} did not answer within {TIMEOUT_S:.0f} s") from exc
        except httpx.HTTPError as exc:
            raise ServerError(f"{where} could not be reached: {exc}") from exc
        if response.status_code in (401, 403):
            raise ServerError(f"{where} refused the token (HTTP {response.status_code}); save "
                              f"the right one with: server key --url {self.store.url}")
        if response.status_code != 200:
            raise ServerError(f"{where} answered HTTP {response.status_code} where a Chroma "
                              "server answers 200: is this the right address?")

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except AppError:
            raise
        except Exception as exc:  # noqa: BLE001 - chromadb and httpx raise many types
            raise ServerError(f"the shared workspace server {self.store.host} failed while "
                              f"{doing} ({type(exc).__name__}: {exc}); nothing half-done counts "
                              "as indexed: try again when the server is back") from exc

    # -- the VectorStore protocol ----------------------------------------------------------

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        with self._errors("writing passages"):
            for start in range(0, len(chunks), self._batch):
                batch = chunks[start:start + self._batch]
                self._chunks.upsert(ids=[c.id for c in batch],
                                    embeddings=vectors[start:start + len(batch)],
                                    documents=[c.text for c in batch],
                                    metadatas=[_chunk_metadata(c) for c in batch])

    def delete(self, ids: Sequence[str]) -> None:
        with self._errors("deleting passages"):
            for start in range(0, len(ids), self._batch):
                self._chunks.delete(ids=list(ids[start:start + self._batch]))

    def query(self, vector: np.ndarray, n: int, within: Collection[str] | None = None
              ) -> list[tuple[str, float]]:
        with self._errors("searching"):
            total = self._chunks.count() if within is None else len(within)
            if total == 0 or n <= 0:
                return []
            scope = {} if within is None else {"ids": list(within)}
            result: Any = self._chunks.query(query_embeddings=[vector], n_results=min(n, total),
                                             include=["distances"], **scope)
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0],
                                                     strict=True)]

    def count(self) -> int:
        with self._errors("counting passages"):
            return int(self._chunks.count())

    def reset(self) -> None:
        """Every passage and document record goes, for everyone (a re-index)."""
        with self._errors("emptying the shared workspace"):
            for kind in ("chunks", "documents"):
                self._client.delete_collection(f"{self.store.collection}-{kind}")
            self._chunks = self._collection("chunks")
            self._documents = self._collection("documents")

    def verify(self) -> None:
        self.count()  # the server keeps its own index sound; this proves it answers

    def close(self) -> None:
        self._client = self._chunks = self._documents = None

    # -- documents -------------------------------------------------------------------------

    def publish(self, manifest: DocumentManifest) -> None:
        """Record a document whose passages are all on the server: others take it from now."""
        with self._errors("recording a document"):
            self._documents.upsert(ids=[manifest.path], embeddings=[[1.0]],
                                   metadatas=[_without_none(asdict(manifest))])

    def retract(self, path: str) -> None:
        """Take a document's record away first, so no one takes its passages while they go."""
        with self._errors("removing a document"):
            self._documents.delete(ids=[path])

    def manifests(self) -> dict[str, DocumentManifest]:
        with self._errors("listing the shared documents"):
            found: dict[str, DocumentManifest] = {}
            for offset in range(0, int(self._documents.count()) + PAGE, PAGE):
                page: Any = self._documents.get(include=["metadatas"], limit=PAGE, offset=offset)
                for meta in page["metadatas"]:
                    found[str(meta["path"])] = DocumentManifest(
                        str(meta["path"]), str(meta["sha256"]), int(meta["chunks"]),
                        None if meta.get("pages") is None else int(meta["pages"]),
                        int(meta["size_bytes"]), str(meta["signature"]))
                if len(page["ids"]) < PAGE:
                    break
            return found

    def passages(self, manifest: DocumentManifest) -> list[Chunk] | None:
        """A document's passages in reading order; None while they are not exactly the ones
        its record counts (someone is changing it now: taken at the next open)."""
        with self._errors("reading a document's passages"):
            rows: Any = self._chunks.get(where={"document": manifest.path},
                                         include=["documents", "metadatas"])
        chunks = sorted((_chunk(i, text, meta) for i, text, meta in
                         zip(rows["ids"], rows["documents"], rows["metadatas"], strict=True)),
                        key=lambda c: c.ordinal)
        if [c.ordinal for c in chunks] != list(range(manifest.chunks)):
            return None
        return chunks

    def holder(self, sha256: str) -> str | None:
        """The path under which a file with these bytes is already shared, if any."""
        with self._errors("looking for a document"):
            found: Any = self._documents.get(where={"sha256": sha256}, include=["metadatas"],
                                             limit=1)
        return str(found["metadatas"][0]["path"]) if found["ids"] else None

    def embedder(self) -> dict[str, Any] | None:
        """The embedder the shared passages were embedded with ({"name", "dimensions"})."""
        with self._errors("reading the shared workspace's embedder"):
            meta = self._chunks.metadata or {}
        return ({"name": meta["embedder"], "dimensions": int(meta["dimensions"])}
                if "embedder" in meta else None)

    def set_embedder(self, embedder: dict[str, Any]) -> None:
        with self._errors("recording the shared workspace's embedder"):
            self._chunks.modify(metadata={"embedder": embedder["name"],
                                          "dimensions": int(embedder["dimensions"])})


def _chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    return _without_none({"document": chunk.document, "ordinal": chunk.ordinal,
                          "page": chunk.page, "section": chunk.section, "start": chunk.start,
                          "end": chunk.end, "kinds": ",".join(chunk.kinds),
                          "context": chunk.context})


def _chunk(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(chunk_id, str(meta["document"]), int(meta["ordinal"]), text,
                 None if meta.get("page") is None else int(meta["page"]), meta.get("section"),
                 int(meta["start"]), int(meta["end"]),
                 tuple(k for k in str(meta.get("kinds", "")).split(",") if k),
                 str(meta.get("context", "")))


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    """Chroma's metadata takes no None values: an absent key stands for one."""
    return {k: v for k, v in values.items() if v is not None}
