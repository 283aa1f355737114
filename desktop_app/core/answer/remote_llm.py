"""A language model on an OpenAI-compatible server: llama.cpp's server, vLLM, LM Studio, ...

Requests go through the `openai` client (streaming, timeouts, retries with backoff on 429,
5xx and lost connections). Prompt fitting stays exact where the server can say: the context
size from llama.cpp's `/props`, token counts from its `/tokenize` (llama-server) or
`/extras/tokenize` (llama-cpp-python's server); elsewhere both come from the settings with a
safety margin. Every failure is a `ServerError` whose message says what to do.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from desktop_app.core.answer.llm import ChatMessage
from desktop_app.core.errors import ServerError

__all__ = ["RemoteModel", "ServerConfig"]

log = logging.getLogger(__name__)

RETRIES = 3  # after the first try: about 0.5 + 1 + 2 s of backoff (the client's own schedule)
# Without the server's tokenizer: English runs about 4 characters a token; counting 3 leaves
# a margin for other languages, code and numbers.
_CHARS_PER_TOKEN = 3.0
_UNKNOWN_CONTEXT_MARGIN = 0.9  # of the configured context size, when the server cannot say
# Endpoints that count tokens with the server's own tokenizer, and the field they read.
_TOKENIZERS = (("/tokenize", "content"), ("/extras/tokenize", "input"))  # llama-server; Python


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Where the server is and how to reach it (built from `Settings` and the saved key)."""

    url: str  # the API's base URL, ending in /v1 for most servers
    model: str = ""  # "" = the first model the server lists
    api_key: str | None = None
    verify_tls: bool = True
    ca_bundle: str = ""  # PEM file of authorities to trust for this server ("" = the system's)
    context_size: int = 4096  # used only when the server does not say
    timeout_s: float = 600.0  # a long answer from a busy server can take minutes

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc or self.url

    @property
    def root(self) -> str:
        """The server's address without the API's path: llama.cpp's own endpoints live there."""
        parts = urlsplit(self.url)
        path = parts.path.rstrip("/")
        path = path[: -len("/v1")] if path.endswith("/v1") else path
        return f"{parts.scheme}://{parts.netloc}{path}"


class RemoteModel:
    """The LanguageModel protocol over HTTP. `warm_up` checks the server, the key and the
    model; `stream` yields the answer as the server writes it, and closing it closes the
    request, which makes llama.cpp's and vLLM's servers stop generating."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config
        self.name = config.model or "(server's model)"
        self._client: Any = None
        self._context: int | None = None
        self._tokenize: tuple[str, str] | None = None  # endpoint that counts tokens, and field
        self.listed: list[str] = []  # the models the server offers (after warm_up)

    @property
    def placement(self) -> str:
        return f"remote: {self.name} at {self._config.host}"

    @property
    def prompt_speed(self) -> float | None:
        return None  # the server's load, not this model, decides it

    @property
    def loaded(self) -> bool:
        return self._client is not None  # reached the server, checked the key and model

    @property
    def context_size(self) -> int:
        self.warm_up()
        if self._context is not None:
            return self._context
        return int(self._config.context_size * _UNKNOWN_CONTEXT_MARGIN)

    def warm_up(self) -> None:
        if self._client is not None:
            return
        client = self._make_client()
        with _translated(self._config, "connecting"):
            listed = [m.id for m in client.models.list()]
        if self._config.model and self._config.model not in listed:
            raise ServerError(f"the server at {self._config.host} has no model "
                              f"{self._config.model!r}; it has: {', '.join(listed) or 'none'}")
        if not listed and not self._config.model:
            raise ServerError(f"the server at {self._config.host} lists no models")
        self.name = self._config.model or listed[0]
        self.listed = listed
        self._client = client
        self._context = self._server_context()
        self._tokenize = self._tokenize_endpoint()
        log.info("model %s on %s: context %s, token counts %s", self.name, self._config.host,
                 self._context or "from settings", self._tokenize[0] if self._tokenize else "estimated")

    def facts(self) -> dict[str, object]:
        """What a person checking the connection wants to see (no key: it is never shown)."""
        self.warm_up()
        return {"url": self._config.url, "model": self.name, "models": self.listed,
                "context_size": self.context_size,
                "context_from": "the server" if self._context else "settings, less 10%",
                "token_counts": "the server's tokenizer" if self._tokenize else "estimated",
                "key": "sent" if self._config.api_key else "none saved"}

    def count_tokens(self, text: str) -> int:
        self.warm_up()
        return self._count(text)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one model per settings; texts repeat
    def _count(self, text: str) -> int:
        if self._tokenize is not None:
            counted = self._count_on_server(self._tokenize, text)
            if counted is not None:
                return counted
        return math.ceil(len(text) / _CHARS_PER_TOKEN)

    def stream(self, messages: Sequence[ChatMessage], max_tokens: int, temperature: float
               ) -> Iterator[str]:
        self.warm_up()
        with _translated(self._config, "asking"):
            response = self._client.chat.completions.create(
                model=self.name, messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=max_tokens, temperature=temperature, stream=True)
        return self._pieces(response)

    def _pieces(self, response: Any) -> Iterator[str]:
        try:
            with _translated(self._config, "answering"):
                for chunk in response:
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
        finally:
            response.close()  # a stop closes the connection: the server stops generating

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- the server's own endpoints (llama.cpp), each optional ---------------------------------

    def _make_client(self) -> Any:
        import openai

        verify: Any = self._config.verify_tls
        if self._config.verify_tls and self._config.ca_bundle:
            verify = _tls_context(self._config.ca_bundle)
        # No key at all is sent as an empty bearer token: servers without keys ignore it.
        return openai.OpenAI(
            base_url=self._config.url, api_key=self._config.api_key or "none",
            timeout=self._config.timeout_s, max_retries=RETRIES,
            http_client=openai.DefaultHttpxClient(verify=verify))

    def _server_context(self) -> int | None:
        props = self._optional_get(f"{self._config.root}/props")
        if not isinstance(props, dict):
            return None
        settings = props.get("default_generation_settings")
        n_ctx = props.get("n_ctx") or (settings.get("n_ctx") if isinstance(settings, dict) else None)
        return int(n_ctx) if isinstance(n_ctx, int) and n_ctx > 0 else None

    def _tokenize_endpoint(self) -> tuple[str, str] | None:
        for path, field in _TOKENIZERS:
            endpoint = (f"{self._config.root}{path}", field)
            if self._count_on_server(endpoint, "hello") is not None:
                return endpoint
        return None

    def _count_on_server(self, endpoint: tuple[str, str], text: str) -> int | None:
        import openai

        url, field = endpoint
        try:
            answer = self._client.post(url, body={field: text}, cast_to=object,
                                       options={"max_retries": 0})
        except openai.APIError:
            return None
        tokens = answer.get("tokens") if isinstance(answer, dict) else None
        return len(tokens) if isinstance(tokens, list) else None

    def _optional_get(self, url: str) -> Any:
        import openai

        try:
            return self._client.get(url, cast_to=object, options={"max_retries": 0})
        except openai.APIError:
            return None


def _tls_context(ca_bundle: str) -> Any:
    """The system's authorities plus those in `ca_bundle` (a company's own CA, say)."""
    import ssl

    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise ServerError(f"the CA bundle {ca_bundle} cannot be read: {exc}") from exc
    return context


@contextmanager
def _translated(config: ServerConfig, doing: str) -> Iterator[None]:
    """The client's exceptions as ServerErrors a person can act on."""
    import openai

    host = config.host
    try:
        yield
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise ServerError(f"the server at {host} refused the API key (HTTP {exc.status_code}): "
                          "check the key saved for it") from exc
    except openai.NotFoundError as exc:
        if doing == "connecting":
            raise ServerError(f"{config.url} is not an OpenAI-compatible API (HTTP 404): most "
                              "servers' addresses end in /v1") from exc
        raise ServerError(f"the server at {host} does not know the model {config.model!r} "
                          f"(HTTP 404) while {doing}") from exc
    except (openai.RateLimitError, openai.InternalServerError) as exc:
        raise ServerError(f"the server at {host} is overloaded or failing (HTTP "
                          f"{exc.status_code}); tried {RETRIES + 1} times with growing pauses. "
                          "Try again in a minute") from exc
    except openai.APITimeoutError as exc:
        raise ServerError(f"the server at {host} did not answer within {config.timeout_s:g} s "
                          f"while {doing}") from exc
    except openai.APIConnectionError as exc:
        cause = exc.__cause__ or exc
        raise ServerError(f"cannot connect to the server at {host} while {doing} "
                          f"({type(cause).__name__}: {cause}); check the address and that it is "
                          "running") from exc
    except openai.APIStatusError as exc:
        raise ServerError(f"the server at {host} refused the request (HTTP {exc.status_code}): "
                          f"{_detail(exc)}") from exc


def _detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body.get("detail", body))
        message = error.get("message") if isinstance(error, dict) else error
        return str(message)[:300]
    return str(exc)[:300]
