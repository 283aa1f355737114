"""Workspace behaviour over fast fakes: indexing, re-indexing, failures, cancelling, asking."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from desktop_app.core import Answer, AnswerToken, DocumentStatus, Library
from desktop_app.core.answer.answering import CHECK_QUESTION
from desktop_app.core.answer.llm import ScriptedModel
from desktop_app.core.answer.prompting import NOT_FOUND
from desktop_app.core.backends import FakeBackends
from desktop_app.core.errors import EmbedderMismatch, UserError, WorkspaceExists, WorkspaceNotFound
from desktop_app.core.ingest.indexer import Indexer
from desktop_app.core.records import AddFinished, AnswerStage, FileFinished, FileStarted
from desktop_app.core.storage.settings import SCHEMA_VERSION


def run(progress) -> AddFinished:
    events = list(progress)
    assert isinstance(events[-1], AddFinished)
    return events[-1]


def statuses(workspace) -> dict[str, str]:
    return {Path(r.path).name: r.status.value for r in workspace.documents()}


def vector_count(library: Library, workspace) -> int:
    return library.backends.stores[workspace.folder / "vectors"].count()


def test_adding_a_folder_indexes_every_file(fake_library, notes):
    workspace = fake_library.create("Notes")
    finished = run(workspace.add([notes]))
    assert finished.count(DocumentStatus.INDEXED) == 3
    assert statuses(workspace) == {"bread.md": "indexed", "meeting.txt": "indexed", "zephyr.txt": "indexed"}
    assert vector_count(fake_library, workspace) == workspace.store.chunk_count() > 0


def test_progress_reports_each_file_in_order(fake_library, notes):
    events = list(fake_library.create("Notes").add([notes]))
    started = [e for e in events if isinstance(e, FileStarted)]
    assert [(e.index, e.total) for e in started] == [(1, 3), (2, 3), (3, 3)]
    finished = [e for e in events if isinstance(e, FileFinished)]
    assert finished[-1].bytes_done == finished[-1].bytes_total > 0


def test_re_adding_unchanged_files_is_a_no_op(fake_library, notes):
    workspace = fake_library.create("Notes")
    run(workspace.add([notes]))
    before = sorted(workspace.store.chunk_ids())
    finished = run(workspace.add([notes]))
    assert finished.count(DocumentStatus.SKIPPED) == 3
    assert sorted(workspace.store.chunk_ids()) == before
    assert vector_count(fake_library, workspace) == len(before)


def test_an_edited_file_replaces_its_chunks(fake_library, notes):
    workspace = fake_library.create("Notes")
    run(workspace.add([notes]))
    (notes / "zephyr.txt").write_text("The Zephyr 4000 battery lasts 90 minutes.", encoding="utf-8")
    finished = run(workspace.add([notes]))
    assert finished.count(DocumentStatus.INDEXED) == 1 and finished.count(DocumentStatus.SKIPPED) == 2
    texts = [p.chunk.text for p in workspace.search("Zephyr battery", 10)]
    assert any("90 minutes" in t for t in texts) and not any("45 minutes" in t for t in texts)
    assert vector_count(fake_library, workspace) == workspace.store.chunk_count()


def test_deleted_files_take_their_chunks_with_them(fake_library, notes):
    workspace = fake_library.create("Notes")
    run(workspace.add([notes]))
    (notes / "bread.md").unlink()
    finished = run(workspace.add([notes]))
    assert [Path(p).name for p in finished.removed] == ["bread.md"]
    assert "bread.md" not in statuses(workspace)
    assert not any("flour" in p.chunk.text for p in workspace.search("flour water starter", 10))
    assert vector_count(fake_library, workspace) == workspace.store.chunk_count()


def test_remove_forgets_a_document(fake_library, notes):
    workspace = fake_library.create("Notes")
    run(workspace.add([notes]))
    assert [Path(p).name for p in workspace.remove([notes / "meeting.txt"])] == ["meeting.txt"]
    assert set(statuses(workspace)) == {"bread.md", "zephyr.txt"}
    assert vector_count(fake_library, workspace) == workspace.store.chunk_count()


def test_a_bad_file_fails_alone_with_a_clear_reason(fake_library, notes):
    (notes / "empty.txt").write_text("", encoding="utf-8")
    (notes / "binary.txt").write_bytes(b"\xff\xfe\x00garbage\xff")
    workspace = fake_library.create("Notes")
    finished = run(workspace.add([notes, notes / "picture.xyz"]))
    by_name = {Path(r.path).name: r for r in finished.records}
    assert by_name["empty.txt"].error == "file is empty"
    assert "corrupted" in by_name["binary.txt"].error
    assert by_name["picture.xyz"].error == "file not found"
    assert finished.count(DocumentStatus.INDEXED) == 3
    docs = {Path(r.path).name: r for r in workspace.documents()}
    assert docs["empty.txt"].status is DocumentStatus.FAILED and docs["empty.txt"].chunks == 0


def test_unsupported_files_named_explicitly_fail_and_in_folders_are_ignored(fake_library, notes):
    (notes / "song.mp3").write_bytes(b"ID3....")
    workspace = fake_library.create("Notes")
    finished = run(workspace.add([notes]))
    assert [Path(p).name for p in finished.ignored] == ["song.mp3"]
    finished = run(workspace.add([notes / "song.mp3"]))
    assert finished.records[0].error == "unsupported format .mp3"


def test_cancelling_between_files_keeps_what_is_done(fake_library, notes):
    workspace = fake_library.create("Notes")
    progress = workspace.add([notes])
    for event in progress:
        if isinstance(event, FileFinished):
            break
    progress.close()
    assert len(workspace.documents()) == 1
    assert vector_count(fake_library, workspace) == workspace.store.chunk_count()
    finished = run(workspace.add([notes]))
    assert finished.count(DocumentStatus.SKIPPED) == 1 and finished.count(DocumentStatus.INDEXED) == 2


def test_a_crash_between_vectors_and_rows_leaves_nothing_behind(fake_library, notes, monkeypatch):
    workspace = fake_library.create("Notes")
    with monkeypatch.context() as patch:
        # A killed process gets no chance to clean up: its last commit never comes, and
        # neither does the sweep after it.
        patch.setattr(type(workspace.store), "commit_staged", _killed)
        patch.setattr(Indexer, "sweep", lambda self: 0)
        with pytest.raises(SystemExit):
            run(workspace.add([notes / "zephyr.txt"]))
    assert vector_count(fake_library, workspace) > 0 and workspace.store.chunk_count() == 0
    run(workspace.add([notes]))
    assert vector_count(fake_library, workspace) == workspace.store.chunk_count()


def _killed(*args, **kwargs):
    raise SystemExit("killed")


def test_changing_the_embedder_requires_a_reindex(fake_library, notes):
    workspace = fake_library.create("Notes")
    run(workspace.add([notes]))
    workspace.update_settings(embedder="another-embedder")
    with pytest.raises(EmbedderMismatch, match="re-index"):
        workspace.search("battery")
    finished = run(workspace.reindex())
    assert finished.count(DocumentStatus.INDEXED) == 3
    assert workspace.info.embedder["name"] == "another-embedder"
    assert workspace.search("battery")


def test_the_first_answer_says_the_model_is_loading(fake_library, notes):
    from desktop_app.core.answer.llm import ScriptedModel

    class Cold(ScriptedModel):
        warm = False

        @property
        def loaded(self) -> bool:
            return self.warm

        def warm_up(self) -> None:
            self.warm = True

    fake_library.backends.model = Cold()
    workspace = fake_library.create("Notes")
    run(workspace.add([notes]))
    first = [e.stage for e in workspace.answer_stream("Zephyr battery?") if isinstance(e, AnswerStage)]
    second = [e.stage for e in workspace.answer_stream("Zephyr battery?") if isinstance(e, AnswerStage)]
    assert first[:2] == ["loading", "searching"] and second[0] == "searching"
    assert AnswerStage("loading").describe().startswith("Loading the model")


def test_asking_streams_tokens_then_a_cited_answer(fake_library, notes):
    workspace = fake_library.create("Notes")
    workspace.update_settings(min_relevance=0.0)
    run(workspace.add([notes]))
    events = list(workspace.answer_stream("How long does the Zephyr 3000 battery last?"))
    assert any(isinstance(e, AnswerToken) for e in events[:-1])
    # Before the first word, the person is told where the answer is.
    stages = [e for e in events if isinstance(e, AnswerStage)]
    assert [s.stage for s in stages] == ["searching", "reading"]
    assert events.index(stages[-1]) < next(i for i, e in enumerate(events) if isinstance(e, AnswerToken))
    assert stages[1].passages >= 1 and stages[1].prompt_tokens > 0
    assert stages[1].describe().startswith(f"Reading {stages[1].passages} passage")
    answer = events[-1]
    assert isinstance(answer, Answer) and answer.answered_from_documents
    assert answer.citations and Path(answer.citations[0].passage.chunk.document).name == "zephyr.txt"
    assert "[1]" in answer.text


class SecondGuessing(ScriptedModel):
    """Answers from passage [1], then says `verdict` when asked to check that answer."""

    def __init__(self, verdict: str) -> None:
        super().__init__()
        self.verdict = verdict

    def stream(self, messages, max_tokens, temperature):
        if messages[-1].content == CHECK_QUESTION.format(n=1):  # the passage it quoted
            self.prompts.append(list(messages))
            yield self.verdict
            return
        yield from super().stream(messages, max_tokens, temperature)


@pytest.mark.parametrize("verdict", ["No.", "Yes"])
def test_a_second_look_declines_an_answer_its_passage_does_not_state(tmp_path, notes, verdict):
    model = SecondGuessing(verdict)
    library = Library(tmp_path / "home", backends=FakeBackends(model=model))
    try:
        workspace = library.create("Notes")
        workspace.update_settings(min_relevance=0.0, check_answer=True)
        run(workspace.add([notes]))
        events = list(workspace.answer_stream("How long does the Zephyr 3000 battery last?"))
    finally:
        library.close()
    answer = events[-1]
    check = model.prompts[-1]
    # Asked after the answer, in the same conversation: the cache holds all that came before.
    assert check[:-2] == model.prompts[0] and check[-2].role == "assistant"
    assert [e.stage for e in events if isinstance(e, AnswerStage)] == \
        ["searching", "reading", "checking"]
    if verdict == "Yes":
        assert answer.answered_from_documents and answer.citations and not answer.unconfirmed
        return
    assert not answer.answered_from_documents and answer.citations == []
    assert "battery life of 45 minutes" in answer.unconfirmed
    assert answer.text.startswith(NOT_FOUND) and answer.unconfirmed in answer.text
    assert answer.retrieved  # the passages are still there to read


class CitesTheWrongPassage(ScriptedModel):
    """Gives the right answer but cites a passage that does not state it, then confirms."""

    def stream(self, messages, max_tokens, temperature):
        self.prompts.append(list(messages))
        if messages[-1].content.startswith("Look at passage"):
            yield "yes"
            return
        blocks = re.findall(r"^\[(\d+)\] \((\S+)", messages[-1].content, re.MULTILINE)
        self.zephyr = next(n for n, name in blocks if name.startswith("zephyr"))
        wrong = next(n for n, name in blocks if not name.startswith("zephyr"))
        yield f"45 minutes [{wrong}]"


def test_the_second_look_asks_about_the_passage_the_citation_was_moved_to(tmp_path, notes):
    model = CitesTheWrongPassage()
    library = Library(tmp_path / "home", backends=FakeBackends(model=model))
    try:
        workspace = library.create("Notes")
        workspace.update_settings(min_relevance=0.0, check_answer=True)
        run(workspace.add([notes]))
        answer = workspace.ask("How long does the Zephyr 3000 battery last?")
    finally:
        library.close()
    assert answer.answered_from_documents and answer.text == "45 minutes [1]"
    assert [(Path(c.passage.chunk.document).name, c.matched) for c in answer.citations] == [
        ("zephyr.txt", True)]
    assert model.prompts[-1][-1].content == CHECK_QUESTION.format(n=model.zephyr)


def test_irrelevant_questions_are_declined_without_the_model(fake_library, notes):
    workspace = fake_library.create("Notes")
    workspace.update_settings(min_relevance=0.9)
    run(workspace.add([notes]))
    answer = workspace.ask("What is the capital of Australia?")
    assert not answer.answered_from_documents and answer.citations == []
    assert fake_library.backends.model.prompts == []


def test_threads_are_found_by_what_was_said_and_a_last_answer_can_be_replaced(fake_library,
                                                                              notes):
    workspace = fake_library.create("Notes")
    workspace.update_settings(min_relevance=0.0)
    run(workspace.add([notes]))
    workspace.ask("Where is the quarterly meeting?")
    meeting = workspace.last_thread_id
    workspace.ask("How long does the battery last?")
    assert [t.title for t in workspace.threads()] == ["How long does the battery last?",
                                                      "Where is the quarterly meeting?"]
    assert [t.id for t in workspace.threads("ROOM 204")] == [meeting]  # in its answer only
    assert workspace.threads("100%_") == [] and workspace.threads("  ") == workspace.threads()
    workspace.ask("Which month is it?", thread_id=meeting)
    list(workspace.answer_stream("Which day is it?", meeting, replace_last=True))
    assert [m.content for m in workspace.messages(meeting) if m.role == "user"] == [
        "Where is the quarterly meeting?", "Which day is it?"]
    assert len(workspace.messages(meeting)) == 4
    workspace.delete_thread(meeting)
    assert [t.title for t in workspace.threads()] == ["How long does the battery last?"]


def test_history_keeps_threads_and_follow_ups_use_the_conversation(fake_library, notes):
    workspace = fake_library.create("Notes")
    workspace.update_settings(min_relevance=0.0)
    run(workspace.add([notes]))
    workspace.ask("Where is the quarterly meeting?")
    thread = workspace.last_thread_id
    workspace.ask("And which month?", thread_id=thread)
    messages = workspace.messages(thread)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[1].citations and messages[1].citations[0].document.endswith("meeting.txt")
    first, prompt = fake_library.backends.model.prompts[-2:]
    assert prompt[:len(first)] == first  # the first turn exactly as sent, then the reply
    assert prompt[len(first)].role == "assistant" and "[1]" in prompt[len(first)].content
    assert prompt[-1].content.endswith("Question: And which month?")
    # A new workspace object (another process, a restart) starts from the stored history.
    reopened = fake_library.open("Notes")
    reopened._conversations.clear()
    reopened.ask("And the room?", thread_id=thread)
    fresh = fake_library.backends.model.prompts[-1]
    assert any(m.content == "Where is the quarterly meeting?" for m in fresh)


def test_a_thread_exports_as_markdown_with_its_cited_passages(fake_library, notes):
    workspace = fake_library.create("Notes")
    workspace.update_settings(min_relevance=0.0)
    run(workspace.add([notes]))
    answer = workspace.ask("Where is the quarterly meeting?")
    text = workspace.export_thread(answer.thread_id)
    assert text.startswith("# Where is the quarterly meeting?\n")
    assert "**Question:** Where is the quarterly meeting?" in text and answer.text in text
    assert "[1] meeting.txt, page 2" in text
    assert "> The quarterly meeting is on March 14 in room 204" in text


def test_stopping_an_answer_keeps_it_marked_stopped(fake_library, notes):
    workspace = fake_library.create("Notes")
    workspace.update_settings(min_relevance=0.0)
    run(workspace.add([notes]))
    stream = workspace.answer_stream("How long does the battery last?")
    next(e for e in stream if isinstance(e, AnswerToken))  # stopped after the first word
    stream.close()
    messages = workspace.messages(workspace.last_thread_id)
    assert [m.role for m in messages] == ["user", "assistant"]


def test_workspaces_can_be_created_listed_renamed_and_deleted(fake_library):
    fake_library.create("Research")
    fake_library.create("Taxes 2024")
    with pytest.raises(WorkspaceExists):
        fake_library.create("research")
    fake_library.rename("Research", "Papers")
    assert [i.name for i in fake_library.list()] == ["Papers", "Taxes 2024"]
    fake_library.delete("Papers")
    assert [i.name for i in fake_library.list()] == ["Taxes 2024"]
    with pytest.raises(WorkspaceNotFound):
        fake_library.open("Papers")
    with pytest.raises(UserError):
        fake_library.create("   ")


def test_the_data_dir_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DESKTOP_APP_HOME", str(tmp_path / "elsewhere"))
    library = Library(backends=None)
    assert library.data_dir == (tmp_path / "elsewhere").resolve()
    assert (tmp_path / "elsewhere" / "workspaces").is_dir()


def test_settings_persist_with_a_schema_version(fake_library):
    fake_library.update_settings(top_k=7, temperature="0.5")
    data = (fake_library.settings_path).read_text()
    assert f'"schema_version": {SCHEMA_VERSION}' in data
    assert fake_library.settings.top_k == 7 and fake_library.settings.temperature == 0.5


def test_re_adding_a_deleted_file_by_name_removes_it(fake_library, notes):
    workspace = fake_library.create("Notes")
    run(workspace.add([notes]))
    (notes / "zephyr.txt").unlink()
    finished = run(workspace.add([notes / "zephyr.txt"]))
    assert [Path(p).name for p in finished.removed] == ["zephyr.txt"] and finished.records == []
    assert "zephyr.txt" not in statuses(workspace)


def test_unknown_or_invalid_settings_are_refused(fake_library):
    with pytest.raises(UserError, match="unknown setting 'topk'"):
        fake_library.update_settings(topk=3)
    with pytest.raises(UserError, match="invalid setting top_k: .many. is not a whole number"):
        fake_library.create("W").update_settings(top_k="many")
    assert fake_library.open("W").settings.top_k == 5


def test_rerankers_keep_every_passage_and_reorder_them(fake_library, notes):
    from desktop_app.core.answer.llm import ScriptedModel
    from desktop_app.core.search.reranking import KeywordOverlapReranker, LlmJudgeReranker

    workspace = fake_library.create("Notes")
    run(workspace.add([notes]))
    passages = workspace.search("quarterly meeting room", 5)
    for reranker in (KeywordOverlapReranker(), LlmJudgeReranker(ScriptedModel(reply="yes"))):
        reranked = reranker.rerank("quarterly meeting room", passages)
        assert sorted(p.chunk.id for p in reranked) == sorted(p.chunk.id for p in passages)
    first = KeywordOverlapReranker().rerank("flour water starter", passages)[0]
    assert "flour" in first.chunk.text
    judged = LlmJudgeReranker(ScriptedModel(reply="no")).rerank("x", passages)
    assert [p.chunk.id for p in judged] == [p.chunk.id for p in passages]


def test_a_folder_deleted_from_disk_can_be_removed_or_re_added(fake_library, notes, tmp_path):
    workspace = fake_library.create("Notes")
    inner = notes / "inner"
    inner.mkdir()
    (inner / "a.txt").write_text("Alpha note.", encoding="utf-8")
    (inner / "b.txt").write_text("Beta note.", encoding="utf-8")
    run(workspace.add([notes]))
    shutil.rmtree(inner)
    assert workspace.has_documents_at(inner)
    finished = run(workspace.add([inner]))  # the deleted folder, named again
    assert sorted(Path(p).name for p in finished.removed) == ["a.txt", "b.txt"]
    assert not workspace.has_documents_at(inner)
    (notes / "gone").mkdir()
    (notes / "gone" / "c.txt").write_text("Gamma note.", encoding="utf-8")
    run(workspace.add([notes]))
    shutil.rmtree(notes / "gone")
    assert [Path(p).name for p in workspace.remove([notes / "gone"])] == ["c.txt"]


def test_a_symlink_loop_fails_alone_with_its_reason(fake_library, notes):
    (notes / "loop-a").symlink_to(notes / "loop-b")
    (notes / "loop-b").symlink_to(notes / "loop-a")
    finished = run(fake_library.create("Notes").add([notes / "loop-a", notes / "zephyr.txt"]))
    reasons = {Path(r.path).name: r.error for r in finished.records}
    assert reasons == {"loop-a": "it is a symbolic link that loops back on itself", "zephyr.txt": None}


def test_a_question_can_be_limited_to_some_documents(fake_library, notes):
    workspace = fake_library.create("Notes")
    run(workspace.add([notes]))
    workspace.update_settings(min_relevance=0.0)
    everywhere = workspace.search("battery flour meeting", 5)
    assert len({p.chunk.document for p in everywhere}) == 3
    bread = str(notes / "bread.md")
    assert {p.chunk.document for p in workspace.search("battery flour meeting", 5, only=[bread])} == {bread}
    assert {p.chunk.document for p in workspace.search("battery", 5, only=[notes])} >= {str(notes / "zephyr.txt")}
    answer = workspace.ask("How long does the battery last?", only=[bread])
    assert {p.chunk.document for p in answer.retrieved} == {bread}
    with pytest.raises(UserError, match="is not a document of 'Notes'"):
        workspace.search("battery", 5, only=[notes / "nothing.txt"])


def test_a_pinned_document_is_always_given_to_the_model(fake_library, notes):
    workspace = fake_library.create("Notes")
    run(workspace.add([notes]))
    workspace.update_settings(min_relevance=0.99)  # nothing the search finds counts as evidence
    assert not workspace.ask("How much flour goes into the bread?").answered_from_documents
    bread = str(notes / "bread.md")
    assert workspace.pin([notes / "bread.md"]) == [bread] and workspace.pinned() == [bread]
    answer = workspace.ask("What is in the zephyr note?")
    assert answer.retrieved[0].chunk.document == bread  # first, whatever the question
    assert fake_library.open("Notes").pinned() == [bread]  # kept in workspace.json
    assert workspace.unpin([notes]) == [bread] and workspace.pinned() == []
    with pytest.raises(UserError, match="is not a document of 'Notes'"):
        workspace.pin([notes / "nothing.txt"])
