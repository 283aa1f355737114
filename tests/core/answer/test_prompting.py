from desktop_app.core.answer.prompting import SYSTEM_PROMPT, build_prompt
from desktop_app.core.records import Chunk, Passage


def words(text: str) -> int:
    return len(text.split())


def ranked(n: int, length: int = 50) -> list[Passage]:
    out = []
    for i in range(n):
        text = " ".join([f"Fact{i}."] + ["filler word."] * (length // 2))
        out.append(Passage(Chunk(f"c{i}", f"doc{i}.pdf", 0, text, i + 1, None, 0, len(text)), 1.0 - i / 10))
    return out


def test_passages_are_numbered_by_rank_and_all_fit_in_a_large_window():
    prompt = build_prompt("What?", ranked(3), [], words, context_size=4096, answer_tokens=256)
    assert prompt.dropped == 0 and [p.chunk.id for p in prompt.passages] == ["c0", "c1", "c2"]
    user = prompt.messages[-1].content
    assert "[1] (doc0.pdf, page 1): Fact0." in user
    assert prompt.messages[0].content == SYSTEM_PROMPT


def test_lowest_ranked_passages_are_dropped_whole_when_the_window_is_small():
    prompt = build_prompt("What?", ranked(5), [], words, context_size=400, answer_tokens=100)
    assert 0 < len(prompt.passages) < 5
    assert prompt.dropped == 5 - len(prompt.passages)
    assert [p.chunk.id for p in prompt.passages] == [f"c{i}" for i in range(len(prompt.passages))]
    total = sum(words(m.content) for m in prompt.messages)
    assert total + 100 <= 400


def test_a_too_long_best_passage_is_cut_at_a_sentence_and_marked():
    prompt = build_prompt("What?", ranked(1, length=600), [], words, context_size=300, answer_tokens=100)
    assert prompt.truncated
    body = prompt.messages[-1].content
    assert "[...]" in body and "word. [...]" in body


def test_bigger_context_windows_get_more_passages():
    from desktop_app.core.answer.answering import passages_for

    assert passages_for(2048, 5) == 5 and passages_for(4096, 5) == 5
    assert passages_for(8192, 5) == 7 and passages_for(32768, 5) == 19
    assert passages_for(131072, 5) == 20


def test_a_follow_up_continues_the_previous_prompt_and_numbers_only_new_passages_on():
    from desktop_app.core.answer.prompting import build_follow_up

    first = build_prompt("What?", ranked(3), [], words, context_size=4096, answer_tokens=256)
    retrieved = ranked(5)[1:]  # c1, c2 were shown already; c3, c4 are new
    follow = build_follow_up(first, "Fact0 [1].", "And then?", retrieved, words, 4096, 256)
    assert follow is not None
    assert follow.messages[:len(first.messages)] == first.messages  # unchanged, cache-friendly
    assert follow.messages[len(first.messages)].content == "Fact0 [1]."
    assert [p.chunk.id for p in follow.passages] == ["c0", "c1", "c2", "c3", "c4"]
    last = follow.messages[-1].content
    assert "[4] (doc3.pdf, page 4)" in last and "[5] (doc4.pdf, page 5)" in last
    assert "doc1.pdf" not in last and last.endswith("Question: And then?")


def test_a_follow_up_that_would_overflow_the_window_starts_afresh():
    from desktop_app.core.answer.prompting import build_follow_up

    first = build_prompt("What?", ranked(5), [], words, context_size=400, answer_tokens=100)
    assert build_follow_up(first, "word " * 120, "And?", ranked(2), words, 400, 100) is None


def test_a_workspaces_instructions_follow_the_apps_rules_and_count_against_the_window():
    plain = build_prompt("What?", ranked(5), [], words, context_size=400, answer_tokens=100)
    told = build_prompt("What?", ranked(5), [], words, context_size=400, answer_tokens=100,
                        instructions=" Answer in French, " + "and briefly " * 20)
    assert told.messages[0].content.startswith(SYSTEM_PROMPT)
    assert told.messages[0].content.endswith("Also: Answer in French, " + "and briefly " * 19
                                              + "and briefly")
    assert len(told.passages) < len(plain.passages)  # room for them is taken from passages


def test_a_workspace_override_reaches_the_prompt(fake_library, notes):
    from desktop_app.core.answer.llm import ScriptedModel

    seen = []

    class Recording(ScriptedModel):
        def stream(self, messages, max_tokens, temperature):
            seen.append(messages)
            return super().stream(messages, max_tokens, temperature)

    fake_library.backends.model = Recording()
    workspace = fake_library.create("Contracts")
    list(workspace.add([notes]))
    workspace.update_settings(instructions="Name the clause you quote.", min_relevance=0.0)
    workspace.ask("How long does the Zephyr battery last?")
    assert seen[-1][0].content.endswith("Also: Name the clause you quote.")
    other = fake_library.create("Other")
    list(other.add([notes]))
    other.update_settings(min_relevance=0.0)
    other.ask("How long does the Zephyr battery last?")
    assert seen[-1][0].content == SYSTEM_PROMPT
