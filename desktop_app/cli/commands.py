"""One function per CLI command: call the core, print for a person or as JSON."""

from __future__ import annotations

import argparse
import json
import queue
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from desktop_app.cli.models import run_models
from desktop_app.cli.server import run_server
from desktop_app.core import Answer, Library
from desktop_app.core.answer.prompting import source_label
from desktop_app.core.errors import UserError
from desktop_app.core.ingest.parsing import unsupported_reason
from desktop_app.core.operations import AddPaths, Ask, Reindex, RemovePaths, SyncWatched
from desktop_app.core.records import (
    AddFinished,
    AnswerStage,
    DocumentStatus,
    FileFinished,
    FileProgress,
    FileStarted,
    Passage,
    Repairing,
    Syncing,
    WaitingForWriter,
)
from desktop_app.core.search.shared_index import SharedStore
from desktop_app.core.storage.settings import REINDEX_FIELDS

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    library = Library(getattr(args, "data_dir", None))
    try:
        handler = _HANDLERS[args.command]
        return handler(library, args)
    finally:
        library.close()


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _workspace(library: Library, args: argparse.Namespace) -> int:
    if args.action == "create":
        shared = None
        if args.shared:
            shared = SharedStore(args.shared, args.collection or SharedStore.name_for(args.name),
                                 not args.no_verify_tls, args.ca_bundle, args.allow_http)
        workspace = library.create(args.name, shared)
        print(f"created workspace {workspace.name!r}"
              + (f", shared on {shared.host} as {shared.collection!r}" if shared else ""))
    elif args.action == "list":
        infos = library.list()
        if args.json:
            _print_json([{"name": i.name, "id": i.id, "embedder": i.embedder,
                          "shared": {k: i.shared[k] for k in ("url", "collection")}
                          if i.shared else None} for i in infos])
        for info in [] if args.json else infos:
            print(info.name)
        if not infos and not args.json:
            print("no workspaces yet: create one with `workspace create NAME`", file=sys.stderr)
    elif args.action == "rename":
        library.rename(args.name, args.new_name)
        print(f"renamed {args.name!r} to {args.new_name!r}")
    elif args.action == "delete":
        library.delete(args.name)
        print(f"deleted workspace {args.name!r}")
    return 0


def _add(library: Library, args: argparse.Namespace) -> int:
    workspace = library.open_or_create(args.workspace) if args.create else library.open(args.workspace)
    missing = [p for p in args.paths if not Path(p).exists() and not Path(p).is_symlink()
               and not workspace.has_documents_at(p)]
    if missing:
        raise UserError("not found: " + ", ".join(missing))
    return _index(AddPaths(workspace.name, tuple(args.paths), args.force).run(library))


def _index(progress: Iterator[object]) -> int:
    """Run an add, a sync or a re-index, reporting as it goes; its exit code."""
    finished: AddFinished | None = None
    try:
        for event in progress:
            finished = event if isinstance(event, AddFinished) else finished
            _report(event)
    except KeyboardInterrupt:
        close = getattr(progress, "close", None)
        if close is not None:
            close()
        print("\ncancelled: files finished so far are indexed; run it again to continue",
              file=sys.stderr)
        return 1
    assert finished is not None
    return _summarise(finished)


def _watch(library: Library, args: argparse.Namespace) -> int:
    workspace = library.open(args.workspace)
    if args.command == "unwatch":
        dropped = workspace.unwatch(args.folders)
        for folder in dropped:
            print(f"no longer watching {folder} (its documents stay)", file=sys.stderr)
        if not dropped:
            raise UserError("none of those folders are watched; see: sync --list")
        return 0
    for folder in workspace.watch(args.folders):
        print(f"watching {folder}", file=sys.stderr)
    return _index(SyncWatched(workspace.name).run(library))


def _sync(library: Library, args: argparse.Namespace) -> int:
    """Index what changed in the watched folders; with --follow, again whenever they change."""
    workspace = library.open(args.workspace)
    if args.list or not workspace.watched():
        print("\n".join(workspace.watched()) or "no watched folders (add some: watch NAME FOLDER)")
        return 0
    code = _index(SyncWatched(workspace.name).run(library))
    if not args.follow:
        return code
    from desktop_app.core.ingest.watching import FolderWatcher

    changes: queue.SimpleQueue[set[str]] = queue.SimpleQueue()
    watcher = FolderWatcher(changes.put, ignore=[library.data_dir])
    watcher.watch(workspace.watched())
    print(f"watching {', '.join(workspace.watched())}; Ctrl-C to stop", file=sys.stderr)
    try:
        while True:
            changes.get()
            code = _index(SyncWatched(workspace.name).run(library))
    except KeyboardInterrupt:
        return code
    finally:
        watcher.stop()


def _report(event: object) -> None:
    err = sys.stderr
    if isinstance(event, WaitingForWriter):
        print(event.message, file=err, flush=True)
    elif isinstance(event, Repairing):
        if event.done == 0 or event.done == event.total:
            print(event.message, file=err, flush=True)
        elif event.total > 1024:
            print(f"    rebuilt {event.done}/{event.total} passages", file=err, flush=True)
    elif isinstance(event, Syncing) and event.done == 0:
        print(event.message, file=err, flush=True)
    elif isinstance(event, FileStarted):
        print(f"[{event.index}/{event.total}] {event.path}", file=err, flush=True)
    elif isinstance(event, FileProgress):
        if event.file_bytes >= 1_000_000 and event.chunks_done % 1000 < 64:  # now and then
            print(f"    {event.file_bytes_done / 1e6:.1f} of {event.file_bytes / 1e6:.1f} MB read,"
                  f" {event.chunks_done} passages", file=err, flush=True)
    elif isinstance(event, FileFinished):
        record = event.record
        detail = {
            DocumentStatus.INDEXED: f"{record.chunks_text}, {event.seconds:.1f}s",
            DocumentStatus.SKIPPED: record.error or "unchanged",
            DocumentStatus.FAILED: record.error or "failed",
        }[record.status]
        print(f"{record.status.value:8} {record.path} ({detail})", flush=True)


def _summarise(finished: AddFinished) -> int:
    for path in finished.removed:
        print(f"removed  {path} (file no longer exists)")
    for path in finished.ignored:
        print(f"ignored  {path} ({unsupported_reason(path)})")
    counts = {s: finished.count(s) for s in DocumentStatus}
    line = ", ".join(f"{n} {s.value}" for s, n in counts.items())
    if finished.ignored:
        line += f"; {len(finished.ignored)} files in unsupported formats ignored"
    print(line, file=sys.stderr)
    return 1 if counts[DocumentStatus.FAILED] else 0


def _remove(library: Library, args: argparse.Namespace) -> int:
    (removed,) = RemovePaths(args.workspace, tuple(args.paths)).run(library)
    for path in removed:
        print(f"removed  {path}")
    if not removed:
        raise UserError("none of those paths are documents of this workspace")
    return 0


def _docs(library: Library, args: argparse.Namespace) -> int:
    workspace = library.open(args.workspace)
    records, pinned = workspace.documents(), set(workspace.pinned())
    if args.json:
        _print_json([{"path": r.path, "status": r.status.value, "chunks": r.chunks, "error": r.error,
                      "pinned": r.path in pinned} for r in records])
        return 0
    for r in records:
        detail = r.error if r.status is DocumentStatus.FAILED else r.chunks_text
        print(f"{r.status.value:8} {r.path} ({detail}){'  pinned' if r.path in pinned else ''}")
    if not records:
        print("no documents yet: add some with `add WORKSPACE PATH`", file=sys.stderr)
    return 0


def _pin(library: Library, args: argparse.Namespace) -> int:
    workspace = library.open(args.workspace)
    if args.command == "pin":
        for path in workspace.pin(args.paths):
            print(f"pinned   {path}")
        return 0
    unpinned = workspace.unpin(args.paths)
    for path in unpinned:
        print(f"unpinned {path}")
    if not unpinned:
        raise UserError("none of those paths are pinned (see: docs)")
    return 0


def _reindex(library: Library, args: argparse.Namespace) -> int:
    finished = None
    for event in Reindex(args.workspace).run(library):
        finished = event if isinstance(event, AddFinished) else finished
        _report(event)
    assert finished is not None
    return _summarise(finished)


def _passage_lines(n: int, passage: Passage, explain: bool) -> str:
    head = f"[{n}] {source_label(passage)}  score {passage.score:.4f}"
    if explain:
        e = passage.explain()
        head += (f"  (dense rank {e['dense_rank']} sim {e['dense_score']}, "
                 f"keyword rank {e['keyword_rank']} bm25 {e['keyword_score']})")
    body = " ".join(passage.chunk.text.split())
    return f"{head}\n    {body[:600]}{'…' if len(body) > 600 else ''}"


def _search(library: Library, args: argparse.Namespace) -> int:
    workspace = library.open(args.workspace)
    for event in workspace.heal():
        _report(event)
    passages = workspace.search(args.query, args.top_k, only=args.only)
    if args.json:
        _print_json({"retrieved": [_passage_json(p, i, args.explain) for i, p in
                                   enumerate(passages, start=1)]})
        return 0
    for n, passage in enumerate(passages, start=1):
        print(_passage_lines(n, passage, args.explain))
    if not passages:
        print("nothing found", file=sys.stderr)
    return 0


def _passage_json(passage: Passage, n: int, explain: bool) -> dict[str, Any]:
    data = passage.to_json(n)
    if explain:
        data["explain"] = passage.explain()
    return data


def _ask(library: Library, args: argparse.Namespace) -> int:
    if args.replace_last and args.thread is None:
        raise UserError("--replace-last needs --thread ID: the thread whose last answer it replaces")
    question = Ask(args.workspace, args.question, args.thread, tuple(args.only), args.replace_last)
    answer = _stream_answer(library, question, echo=not args.json)
    if args.json:
        data = answer.to_json()
        if args.explain:
            for item, passage in zip(data["retrieved"], answer.retrieved, strict=True):
                item["explain"] = passage.explain()
        _print_json(data)
        return 0
    _print_citations(answer, args.explain)
    print(f"(thread {answer.thread_id}: continue with --thread {answer.thread_id})", file=sys.stderr)
    if answer.model:
        print(f"(model {answer.model})", file=sys.stderr)
    return 0


def _stream_answer(library: Library, question: Ask, echo: bool) -> Answer:
    """Run the question, printing the answer as it is written when `echo`."""
    stream = question.run(library)
    answer: Answer | None = None
    streamed: list[str] = []
    try:
        for event in stream:
            if isinstance(event, Answer):
                answer = event
            elif isinstance(event, Repairing | Syncing | WaitingForWriter):
                _report(event)
            elif isinstance(event, AnswerStage):
                if echo and event.stage == "reading":  # the wait before the first word
                    print(f"({event.describe()})", file=sys.stderr, flush=True)
            elif echo:
                streamed.append(event.text)
                print(event.text, end="", flush=True)
    except KeyboardInterrupt:
        stream.close()
        print("\n(stopped)")
        raise
    if echo:
        print()
    assert answer is not None
    if echo and answer.citations and answer.text != "".join(streamed).strip():
        print("\nWith its sources marked:\n" + answer.text)
    return answer


def _print_citations(answer: Answer, explain: bool) -> None:
    if answer.citations:
        print("\nSources:")
        for citation in answer.citations:
            print(_passage_lines(citation.n, citation.passage, explain))
    elif not answer.answered_from_documents:
        print("\n(no passage of your documents answers this)")
    else:
        print("\n(the answer could not be matched to any passage: check it against the sources)")
        for n, passage in enumerate(answer.retrieved, start=1):
            print(_passage_lines(n, passage, explain))
    for check in answer.unsupported:
        print(f"(not supported by its cited passage {list(check.cited)}: {check.sentence!r})")
    if answer.removed_markers:
        print(f"(removed citation markers that pointed at no passage: {answer.removed_markers})")


def _chat(library: Library, args: argparse.Namespace) -> int:
    workspace = library.open(args.workspace)
    print(f"Asking {workspace.name!r}. Empty line or Ctrl-D to quit; Ctrl-C stops an answer.")
    thread: int | None = None
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            print()
            return 0
        if not question:
            return 0
        try:
            answer = _stream_answer(library, Ask(workspace.name, question, thread), echo=True)
        except KeyboardInterrupt:
            thread = workspace.last_thread_id  # the stopped answer is kept in its thread
            continue
        thread = answer.thread_id
        _print_citations(answer, explain=False)


def _threads(library: Library, args: argparse.Namespace) -> int:
    if args.export is not None:
        print(library.open(args.workspace).export_thread(args.export), end="")
        return 0
    threads = library.open(args.workspace).threads(args.search)
    if args.json:
        _print_json([t.to_json() for t in threads])
    for t in [] if args.json else threads:
        print(f"{t.id:4}  {_when(t.updated_at)}  {t.title}")
    return 0


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def _settings(library: Library, args: argparse.Namespace) -> int:
    changes = {}
    for item in args.assignments:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"expected KEY=VALUE, got {item!r}")
        changes[key.strip()] = value.strip()
    try:
        if args.workspace:
            workspace = library.open(args.workspace)
            if changes:
                library.check_model(library.settings.with_overrides(
                    {**workspace.info.overrides, **changes}, strict=True), changes)
                workspace.update_settings(**changes)
            settings = workspace.settings
        else:
            settings = library.update_settings(**changes) if changes else library.settings
    except (TypeError, ValueError, KeyError) as exc:
        raise UserError(f"invalid setting: {exc}") from exc
    _print_json(settings.to_json())
    if REINDEX_FIELDS & changes.keys():
        _say_out_of_date(library)
    return 0


def _say_out_of_date(library: Library) -> None:
    """After an embedder or chunking change: which workspaces it leaves out of date."""
    for info in library.list():
        workspace = library.open(info.name)
        count = 0 if workspace.shared_store is not None else workspace.out_of_date()
        if count:
            print(f"{info.name!r}: {count} document{'s' * (count != 1)} indexed with other "
                  f"settings; bring them up to date with: reindex {info.name!r}", file=sys.stderr)


_HANDLERS = {
    "workspace": _workspace, "add": _add, "remove": _remove, "docs": _docs, "reindex": _reindex,
    "search": _search, "ask": _ask, "chat": _chat, "threads": _threads, "settings": _settings,
    "pin": _pin, "unpin": _pin, "watch": _watch, "unwatch": _watch, "sync": _sync,
    "models": run_models, "server": run_server,
}
