"""A shared workspace's local copy of its passages, brought up to date from the server.

The copy serves keyword search, scoped questions and the passages shown and cited; vectors
stay on the server. It is compared document by document (path, bytes' digest, indexing
signature): a document the server has and this copy lacks, or has in another version, is
fetched whole; one the copy has and the server no longer records is dropped. Documents that
failed here are this app's own business and are left alone.
"""

from __future__ import annotations

from collections.abc import Generator

from desktop_app.core.records import DocumentRecord, DocumentStatus, Syncing
from desktop_app.core.search.shared_index import DocumentManifest, SharedIndex
from desktop_app.core.storage.store import ChunkStore

__all__ = ["pull"]


def pull(store: ChunkStore, index: SharedIndex, name: str) -> Generator[Syncing, None, int]:
    """Bring `store` up to date with `index`; yields progress when anything changes and
    returns how many documents changed."""
    remote = index.manifests()
    local = {r.path: r for r in store.documents() if r.status is not DocumentStatus.FAILED}
    fetch = [m for m in remote.values() if _differs(store, m)]
    drop = [path for path in local if path not in remote]
    total = len(fetch) + len(drop)
    if not total:
        return 0
    message = (f"Bringing {name!r} up to date with its server: {len(fetch)} "
               f"document{'s' * (len(fetch) != 1)} added or changed there, {len(drop)} removed")
    yield Syncing(message, 0, total)
    done = 0
    for manifest in fetch:
        chunks = index.passages(manifest)
        if chunks is not None:  # else someone is changing it right now: the next pull
            record = DocumentRecord(manifest.path, DocumentStatus.INDEXED, manifest.chunks, None,
                                    manifest.pages, manifest.size_bytes)
            # Old passages this replaces are gone from the server already.
            store.clear_journal(store.replace_document(record, manifest.sha256,
                                                       manifest.signature, chunks))
        done += 1
        yield Syncing(message, done, total)
    for path in drop:
        store.clear_journal(store.remove_document(path))
        done += 1
        yield Syncing(message, done, total)
    return total


def _differs(store: ChunkStore, manifest: DocumentManifest) -> bool:
    stored = store.document(manifest.path)
    return (stored is None or stored.status is DocumentStatus.FAILED
            or stored.sha256 != manifest.sha256 or stored.signature != manifest.signature)
