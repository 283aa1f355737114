"""Everything a person can ask of the core, one frozen dataclass each.

An operation names its workspace by name, carries only plain values (so it can travel to the
window's engine process, service.py) and knows its lane: operations of one lane run one after
another, lanes run side by side. `run(library)` yields the operation's events; closing that
iterator cancels it. The window sends these to its engine; the CLI runs the same ones in its
own process, so a question takes one path from the send button (or `ask`) to the prompt:

    Ask.run -> Workspace.answer_stream -> answering.answer_stream -> prompting.build_prompt
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from desktop_app.core.records import AnswerEvent, Progress
from desktop_app.core.storage.settings import Settings

if TYPE_CHECKING:
    from desktop_app.core.library import Library
    from desktop_app.core.models.downloads import DownloadProgress
    from desktop_app.core.search.shared_index import SharedStore

__all__ = ["AddPaths", "ApplySettings", "Ask", "CheckServer", "CreateSharedWorkspace",
           "DeleteWorkspace", "DownloadModel", "Lane", "Operation", "Reindex", "RemovePaths",
           "SaveServerKey", "SyncWatched"]

# "index": changes documents; "answer": questions; "download": model files and other network
# calls; "immediate": quick changes that every later operation must see, run at once in the
# order they were sent.
Lane = Literal["index", "answer", "download", "immediate"]


class Operation(Protocol):
    lane: ClassVar[Lane]

    def run(self, library: Library) -> Iterator[object]: ...


@dataclass(frozen=True, slots=True)
class AddPaths:
    """Index files and folders (progress events, then AddFinished)."""

    workspace: str
    paths: tuple[str, ...]
    force: bool = False
    lane: ClassVar[Lane] = "index"

    def run(self, library: Library) -> Generator[Progress, None, None]:
        return library.open(self.workspace).add(self.paths, force=self.force)


@dataclass(frozen=True, slots=True)
class Reindex:
    """Rebuild every chunk and vector with the current settings."""

    workspace: str
    lane: ClassVar[Lane] = "index"

    def run(self, library: Library) -> Generator[Progress, None, None]:
        return library.open(self.workspace).reindex()


@dataclass(frozen=True, slots=True)
class SyncWatched:
    """Index what changed in the workspace's watched folders (progress events, then
    AddFinished)."""

    workspace: str
    lane: ClassVar[Lane] = "index"

    def run(self, library: Library) -> Generator[Progress, None, None]:
        return library.open(self.workspace).sync()


@dataclass(frozen=True, slots=True)
class RemovePaths:
    """Forget documents; yields the list of paths removed."""

    workspace: str
    paths: tuple[str, ...]
    lane: ClassVar[Lane] = "index"

    def run(self, library: Library) -> Iterator[list[str]]:
        yield library.open(self.workspace).remove(self.paths)


@dataclass(frozen=True, slots=True)
class Ask:
    """Answer a question in a thread (a new one when `thread_id` is None): AnswerToken pieces,
    then the Answer (after Repairing events if the search index had to be rebuilt). Closing
    the iterator stops the model; the partial answer is kept."""

    workspace: str
    question: str
    thread_id: int | None = None
    only: tuple[str, ...] = ()  # documents or folders to answer from; () = the whole workspace
    replace_last: bool = False  # this answer replaces the thread's last question and answer
    lane: ClassVar[Lane] = "answer"

    def run(self, library: Library) -> Generator[AnswerEvent, None, None]:
        return library.open(self.workspace).answer_stream(self.question, self.thread_id,
                                                          self.only, self.replace_last)


@dataclass(frozen=True, slots=True)
class DeleteWorkspace:
    """Delete a workspace, its index and its chats (never the person's files)."""

    workspace: str
    lane: ClassVar[Lane] = "index"

    def run(self, library: Library) -> Iterator[object]:
        library.delete(self.workspace)
        return iter(())


@dataclass(frozen=True, slots=True)
class DownloadModel:
    """Fetch one quantization of a catalogue model into the models folder, verified."""

    model_id: str
    quant: str
    catalog: Path | None = None
    lane: ClassVar[Lane] = "download"

    def run(self, library: Library) -> Iterator[DownloadProgress]:
        return library.models.with_catalog(self.catalog).download(self.model_id, self.quant)


@dataclass(frozen=True, slots=True)
class ApplySettings:
    """Use these global settings from now on (the window saved them; its engine takes them
    from here rather than from the file)."""

    settings: Settings
    lane: ClassVar[Lane] = "immediate"

    def run(self, library: Library) -> Iterator[Settings]:
        yield library.use_settings(self.settings)


@dataclass(frozen=True, slots=True)
class SaveServerKey:
    """Keep an inference server's API key (keyring, else a file only this user reads);
    yields where it went."""

    url: str
    key: str = field(repr=False)
    lane: ClassVar[Lane] = "immediate"

    def run(self, library: Library) -> Iterator[str]:
        yield library.keys.save(self.url, self.key)


@dataclass(frozen=True, slots=True)
class CheckServer:
    """Connect to an inference server as the settings would (the `key` typed, else the one
    saved for `url`); yields what it offers (RemoteModel.facts), or fails with the reason."""

    settings: Settings
    key: str | None = field(default=None, repr=False)
    lane: ClassVar[Lane] = "download"

    def run(self, library: Library) -> Iterator[dict[str, object]]:
        from desktop_app.core.answer.remote_llm import RemoteModel
        from desktop_app.core.backends import server_config

        config = server_config(self.settings, library.keys)
        model = RemoteModel(replace(config, api_key=self.key) if self.key else config)
        try:
            yield model.facts()
        finally:
            model.close()


@dataclass(frozen=True, slots=True)
class CreateSharedWorkspace:
    """A workspace on a team's Chroma server (reached first: a refused token or certificate
    fails here, before anything is created), with the `token` typed saved for its address;
    yields the workspace's name."""

    name: str
    store: SharedStore
    token: str | None = field(default=None, repr=False)
    lane: ClassVar[Lane] = "download"

    def run(self, library: Library) -> Iterator[str]:
        if self.token:
            library.keys.save(self.store.url, self.token)
        yield library.create(self.name, self.store).name
