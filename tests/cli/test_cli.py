"""The CLI as a person (or a script) uses it: real subprocesses, real backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA

ROOT = Path(__file__).resolve().parents[2]


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DESKTOP_APP_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "desktop_app.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_workspace_commands_and_user_errors(tmp_path):
    assert cli(tmp_path, "workspace", "create", "Taxes").returncode == 0
    assert cli(tmp_path, "--data-dir", str(tmp_path / "other"), "workspace", "create", "X").returncode == 0
    duplicate = cli(tmp_path, "workspace", "create", "taxes")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    assert cli(tmp_path, "workspace", "rename", "Taxes", "Taxes 2024").returncode == 0
    listed = cli(tmp_path, "workspace", "list")
    assert listed.stdout.split("\n")[0] == "Taxes 2024"
    missing = cli(tmp_path, "docs", "Nope")
    assert missing.returncode == 1 and "no workspace named 'Nope'" in missing.stderr
    assert cli(tmp_path, "frobnicate").returncode == 1
    alone = cli(tmp_path, "ask", "Taxes 2024", "Why?", "--replace-last")
    assert alone.returncode == 1 and "--replace-last needs --thread" in alone.stderr
    assert cli(tmp_path, "workspace", "delete", "Taxes 2024").returncode == 0
    assert cli(tmp_path, "workspace", "list").stdout == ""


@pytest.mark.integration
def test_add_docs_search_and_ask_as_json(tmp_path):
    cli(tmp_path, "workspace", "create", "Docs")
    added = cli(tmp_path, "add", "Docs", str(DATA / "word-processor-history.pdf"),
                str(DATA / "password.pdf"), str(DATA / "family-day.eml"))
    assert added.returncode == 1  # one file failed, and the exit code says so
    assert "[1/3]" in added.stderr and "failed   " in added.stdout
    assert "password-protected PDF" in added.stdout

    docs = json.loads(cli(tmp_path, "docs", "Docs", "--json").stdout)
    assert {Path(d["path"]).name: d["status"] for d in docs} == {
        "word-processor-history.pdf": "indexed", "password.pdf": "failed", "family-day.eml": "indexed"}
    for d in docs:
        assert set(d) == {"path", "status", "chunks", "error", "pinned"}
        assert (d["error"] is None) == (d["status"] != "failed")

    again = cli(tmp_path, "add", "Docs", str(DATA / "family-day.eml"))
    assert again.returncode == 0 and again.stdout.startswith("skipped")

    found = json.loads(cli(tmp_path, "search", "Docs", "petting zoo face painting", "--json",
                           "--explain").stdout)
    top = found["retrieved"][0]
    assert top["document"].endswith("family-day.eml") and "petting zoo" in top["text"]
    assert top["explain"]["keyword_rank"] == 1
    scoped = json.loads(cli(tmp_path, "search", "Docs", "petting zoo face painting", "--json",
                            "--only", str(DATA / "word-processor-history.pdf")).stdout)
    assert scoped["retrieved"] and all(p["document"].endswith("word-processor-history.pdf")
                                       for p in scoped["retrieved"])
    outside = cli(tmp_path, "search", "Docs", "zoo", "--only", str(DATA / "stanley-cups.csv"))
    assert outside.returncode == 1 and "is not a document of 'Docs'" in outside.stderr

    cli(tmp_path, "settings", "temperature=0")
    asked = cli(tmp_path, "ask", "Docs", "Who patented the typewriter in 1868?", "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["answer"] and answer["retrieved"]
    for item in answer["citations"] + answer["retrieved"]:
        assert {"n", "document", "page", "text", "score"} <= set(item)
    assert answer["citations"][0]["document"].endswith("word-processor-history.pdf")
    exported = cli(tmp_path, "threads", "Docs", "--export", str(answer["thread"])).stdout
    assert "**Question:** Who patented the typewriter in 1868?" in exported
    assert f"[{answer['citations'][0]['n']}] word-processor-history.pdf, page 1" in exported
    assert "\n> " in exported  # the cited passage, quoted
    listed = cli(tmp_path, "threads", "Docs", "--search", "TYPEWRITER").stdout
    assert f"{answer['thread']:4}  " in listed and "Who patented the typewriter" in listed
    assert cli(tmp_path, "threads", "Docs", "--search", "penguins").stdout == ""
    again = cli(tmp_path, "ask", "Docs", "When was the typewriter patented?", "--thread",
                str(answer["thread"]), "--replace-last", "--json")
    assert again.returncode == 0, again.stderr
    exported = cli(tmp_path, "threads", "Docs", "--export", str(answer["thread"])).stdout
    assert "**Question:** When was the typewriter patented?" in exported
    assert "**Question:** Who patented" not in exported  # replaced (the title stays)

    removed = cli(tmp_path, "remove", "Docs", str(DATA / "family-day.eml"))
    assert removed.returncode == 0
    assert len(json.loads(cli(tmp_path, "docs", "Docs", "--json").stdout)) == 2


def test_models_download_verifies_the_file_and_fails_on_wrong_bytes(tmp_path):
    from tests.core.models.test_downloads import BODY, SHA, Server

    for mode, expected in (("normal", 0), ("wrong", 1)):
        server = Server(mode)
        catalog = tmp_path / f"{mode}.json"
        catalog.write_text(json.dumps({"schema_version": 1, "models": [{
            "id": "tiny", "name": "Tiny", "variants": [{
                "quant": "Q4_K_M", "file": f"tiny-{mode}.gguf", "url": server.url,
                "size_bytes": len(BODY), "sha256": SHA}]}]}))
        try:
            result = cli(tmp_path, "models", "--catalog", str(catalog), "download", "tiny", "--quant", "Q4_K_M")
        finally:
            server.close()
        assert result.returncode == expected, result.stderr
        target = tmp_path / "models" / f"tiny-{mode}.gguf"
        assert target.is_file() == (expected == 0)
        if expected:
            assert "checksum mismatch" in result.stderr


def test_models_import_checks_the_header_and_info_and_list_show_the_fit(tmp_path):
    from tests.model_files import write_tiny_gguf

    source = write_tiny_gguf(tmp_path / "mine.gguf")
    imported = cli(tmp_path, "models", "import", str(source), "--use")
    assert imported.returncode == 0, imported.stderr
    assert "llama" in imported.stdout and "with chat template" in imported.stdout
    # Trained for 2,048 tokens: the context size is lowered to that, and said.
    assert "context_size lowered from 4,096 to 2,048" in imported.stderr
    refused = cli(tmp_path, "settings", "context_size=8192")
    assert refused.returncode == 1 and "trained for at most 2,048 tokens" in refused.stderr
    missing = cli(tmp_path, "models", "use", "llama-3.1-8b-instruct:Q6_K")
    assert missing.returncode == 1 and "models download llama-3.1-8b-instruct --quant Q6_K" \
        in missing.stderr
    assert (tmp_path / "models" / "mine.gguf").is_file()
    info = cli(tmp_path, "models", "info", "mine.gguf", "--json")
    facts = json.loads(info.stdout)
    assert facts["layers"] == 2 and facts["quantization"] == "F32" and "RAM" in facts["hardware"]
    assert "fits" in facts["fit"]
    listed = json.loads(cli(tmp_path, "models", "list", "--json").stdout)
    assert any(row["id"] == "mine.gguf" and row["installed"] for row in listed)
    assert all("fit" in row and "recommended" in row for row in listed)
    catalogue = cli(tmp_path, "models", "info", "llama-3.1-8b-instruct")
    assert "recommended here:" in catalogue.stdout and "Q4_K_M" in catalogue.stdout
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"<html>not found</html>")
    refused = cli(tmp_path, "models", "import", str(broken))
    assert refused.returncode != 0 and "not a GGUF model file" in refused.stderr
    assert not (tmp_path / "models" / "broken.gguf").exists()


def test_a_reader_that_stops_early_is_not_an_error(tmp_path):
    # `desktop-app models list | head -1`: the reader goes away before the output is written.
    env = {**os.environ, "DESKTOP_APP_HOME": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "desktop_app.cli", "models", "list"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 1
    assert "error" not in stderr and "Traceback" not in stderr


@pytest.mark.integration
def test_a_damaged_search_index_is_rebuilt_and_said_so(tmp_path):
    cli(tmp_path, "add", "--create", "Docs", str(DATA / "example-docs-readme.md"))
    (workspace,) = [p for p in (tmp_path / "workspaces").iterdir() if p.is_dir()]
    chroma = workspace / "vectors" / "chroma.sqlite3"
    with chroma.open("r+b") as handle:
        handle.truncate(chroma.stat().st_size // 2)
    searched = cli(tmp_path, "search", "Docs", "installation", "--json")
    assert searched.returncode == 0, searched.stderr
    assert "The search index of 'Docs' is damaged" in searched.stderr
    assert "is rebuilt" in searched.stderr and "damaged files are kept in" in searched.stderr
    assert json.loads(searched.stdout)["retrieved"]
    again = cli(tmp_path, "search", "Docs", "installation")
    assert again.returncode == 0 and "damaged" not in again.stderr


def test_a_broken_model_catalogue_is_named_in_words(tmp_path):
    broken = tmp_path / "models.json"
    broken.write_text('{"models": [{"id": "x"', encoding="utf-8")
    listed = cli(tmp_path, "models", "list", "--catalog", str(broken))  # after the action too
    assert listed.returncode == 1
    assert f"error: the model catalogue {broken} is not valid JSON" in listed.stderr
    broken.write_text('{"schema_version": 1, "models": [{"id": "x", "name": "X"}]}', encoding="utf-8")
    listed = cli(tmp_path, "models", "--catalog", str(broken), "list")
    assert listed.returncode == 1 and "lacks 'variants'" in listed.stderr


def test_a_symlink_loop_on_the_command_line_fails_alone(tmp_path):
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    added = cli(tmp_path, "add", "--create", "L", str(tmp_path / "loop-a"))
    assert added.returncode == 1 and "internal error" not in added.stderr
    assert "loops back on itself" in added.stdout
