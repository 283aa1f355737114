"""Answers from an OpenAI-compatible server: llama.cpp's own server, started for real on
127.0.0.1 with an API key, serving the small built-in model; every error a person can meet."""

from __future__ import annotations

import http.server
import json
import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.answer.llm import ChatMessage
from desktop_app.core.answer.remote_llm import RETRIES, RemoteModel, ServerConfig
from desktop_app.core.errors import ServerError
from desktop_app.core.models.model_manager import resolve_model
from tests.conftest import DATA
from tests.servers import ROOT, free_port, llama_server

pytestmark = pytest.mark.integration

KEY = "sk-test-7f3a9c"
HELLO = [ChatMessage("user", "Say hello.")]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    model = resolve_model("smollm2-135m-instruct", log.parent, 2048)
    with llama_server(model, log, KEY) as url:
        yield url, log


def cli(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DESKTOP_APP_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "desktop_app.cli", *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=600)


def test_a_workspace_answers_from_the_server_through_the_cli(server, tmp_path):
    url, _ = server
    home = tmp_path / "home"
    assert cli(home, "settings", f"server_url={url}", "temperature=0").returncode == 0
    saved = cli(home, "server", "key", stdin=KEY + "\n")
    assert saved.returncode == 0, saved.stderr
    checked = json.loads(cli(home, "server", "check", "--json").stdout)
    assert checked["model"] == "smollm2" and checked["models"] == ["smollm2"]
    assert checked["token_counts"] == "the server's tokenizer" and checked["key"] == "sent"

    assert cli(home, "workspace", "create", "Notes").returncode == 0
    assert cli(home, "add", "Notes", str(DATA / "war-and-peace-1p.txt")).returncode == 0
    asked = cli(home, "ask", "Notes", "Who is Anna Pavlovna Scherer?", "--json")
    assert asked.returncode == 0, asked.stderr
    first = json.loads(asked.stdout)
    assert first["answer"] and first["retrieved"]
    assert first["model"] == f"smollm2: remote: smollm2 at {url.split('/')[2]}"
    again = cli(home, "ask", "Notes", "What was she suffering from?", "--thread",
                str(first["thread"]), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["thread"] == first["thread"]

    # The key is in one place, readable by this user only, and nowhere else.
    exported = cli(home, "threads", "Notes", "--export", str(first["thread"])).stdout
    shown = [asked.stdout, asked.stderr, again.stdout, again.stderr, exported, saved.stderr,
             json.dumps(checked), *(p.read_text() for p in home.rglob("*.json")
                                    if p.name != "api-keys.json")]
    assert not any(KEY in text for text in shown)
    (key_file,) = home.rglob("api-keys.json")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and KEY in key_file.read_text()
    assert cli(home, "server", "forget").returncode == 0 and KEY not in key_file.read_text()


def test_stopping_an_answer_closes_the_request_and_the_server_stops(server):
    url, log = server
    model = RemoteModel(ServerConfig(url, api_key=KEY))
    story = model.stream([ChatMessage("user", "Tell a very long story about a dragon.")], 1500, 1.0)
    pieces = [next(story) for _ in range(3)]
    story.close()
    assert all(pieces)
    # The server is free at once for the next question, and says it saw the client go.
    assert "".join(model.stream(HELLO, 8, 0.0))
    assert "Disconnected from client" in log.read_text()
    model.close()


def test_exact_token_counts_and_the_context_from_settings(server):
    url, _ = server
    model = RemoteModel(ServerConfig(url, api_key=KEY, context_size=2048))
    assert model.count_tokens("Hello world, how are you?") == 7  # the server's own tokenizer
    assert model.context_size == int(2048 * 0.9)  # llama-cpp-python's server does not say
    assert model.placement.startswith("remote: smollm2 at 127.0.0.1:")
    model.close()


def test_a_refused_key_an_unknown_model_and_a_wrong_address_are_said_in_words(server):
    url, _ = server
    with pytest.raises(ServerError, match="refused the API key .HTTP 401."):
        RemoteModel(ServerConfig(url, api_key="wrong")).warm_up()
    with pytest.raises(ServerError, match="has no model 'gpt-9'; it has: smollm2"):
        RemoteModel(ServerConfig(url, model="gpt-9", api_key=KEY)).warm_up()
    with pytest.raises(ServerError, match="not an OpenAI-compatible API .HTTP 404.: most"):
        RemoteModel(ServerConfig(url.removesuffix("/v1"), api_key=KEY)).warm_up()


def test_nothing_listening_is_a_connection_error():
    with pytest.raises(ServerError, match="cannot connect to the server at 127.0.0.1:"):
        RemoteModel(ServerConfig(f"http://127.0.0.1:{free_port()}/v1")).warm_up()


def test_a_server_that_never_answers_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts connections (the kernel does), never reads or writes
    port = listener.getsockname()[1]
    try:
        config = ServerConfig(f"http://127.0.0.1:{port}/v1", timeout_s=0.5)
        with pytest.raises(ServerError, match="did not answer within 0.5 s"):
            RemoteModel(config).warm_up()
    finally:
        listener.close()


class _Overloaded(http.server.BaseHTTPRequestHandler):
    seen = 0

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        type(self).seen += 1
        self.send_response(503)
        self.send_header("Retry-After", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


def test_an_overloaded_server_is_retried_then_said_so():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Overloaded)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        config = ServerConfig(f"http://127.0.0.1:{httpd.server_address[1]}/v1")
        with pytest.raises(ServerError, match=f"overloaded or failing .HTTP 503.; tried {RETRIES + 1}"):
            RemoteModel(config).warm_up()
        assert _Overloaded.seen == RETRIES + 1
    finally:
        httpd.shutdown()
