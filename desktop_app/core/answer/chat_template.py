"""A model's own chat template, rendered in a sandbox with a budget.

A GGUF file carries its chat template as Jinja2 source, and the app renders it for every
question. llama-cpp-python's formatter already runs it in Jinja2's sandbox (no reaching into
Python's internals), but a sandbox does not bound work: a template with nested loops kept
`ask` busy for more than 180 s and 3.7 GB. Here rendering also stops after RENDER_BUDGET_S,
a `*` that would repeat a string or list past MAX_REPEAT items is refused, and so is a
prompt longer than MAX_PROMPT_CHARS. `models import` renders a sample conversation the same
way before it accepts a file.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

from desktop_app.core.errors import BackendError

__all__ = ["RENDER_BUDGET_S", "budgeted_formatter", "check_chat_template", "render_chat"]

RENDER_BUDGET_S = 2.0  # a real template renders a long prompt in milliseconds
MAX_REPEAT = 1_000_000  # characters or items one `*` may produce
MAX_PROMPT_CHARS = 4_000_000  # far more than any context window holds
SAMPLE = [{"role": "system", "content": "Answer from the passages."},
          {"role": "user", "content": "What does the memo say?"},
          {"role": "assistant", "content": "It says 200 laptops [1]."},
          {"role": "user", "content": "And when?"}]


class _OverBudget(Exception):
    """Raised inside the template's own code when its time is up."""


def budgeted_formatter(template: str, eos_token: str, bos_token: str) -> Any:
    """llama-cpp-python's chat formatter for `template`, its environment swapped for one
    that refuses oversized repetitions. Raises jinja2.TemplateError for broken source."""
    import jinja2
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    class Budgeted(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
                raise SecurityError(f"the power {right} is too large")
            if operator == "*":
                for times, items in ((left, right), (right, left)):
                    if (isinstance(times, int) and isinstance(items, str | list | tuple)
                            and times * len(items) > MAX_REPEAT):
                        raise SecurityError(f"repeating {len(items)} items {times} times")
            return super().call_binop(context, operator, left, right)

    # Built on an empty template: llama-cpp-python's own environment would fold constants
    # such as 'x' * 10**10 while compiling, before any check could run.
    formatter = Jinja2ChatFormatter("", eos_token, bos_token)
    formatter.template = template
    # The same environment llama-cpp-python builds (Transformers' extensions and tojson),
    # with the repetition check: its compiled template is kept in `_environment`.
    environment = Budgeted(loader=jinja2.BaseLoader(), trim_blocks=True, lstrip_blocks=True,
                           extensions=[Jinja2ChatFormatter.IgnoreGenerationTags,
                                       jinja2.ext.loopcontrols])
    environment.filters["tojson"] = formatter.tojson
    formatter._environment = environment.from_string(template)  # noqa: SLF001
    return formatter


def render_chat(formatter: Any, messages: Sequence[Any], model_name: str) -> Any:
    """The prompt by a model's own chat template, within the budget; a template that cannot
    be rendered (an error in it, one the sandbox refuses, one over budget) is said in words,
    naming the model. `messages` are ChatMessages or {"role", "content"} dicts."""
    import jinja2

    plain = [m if isinstance(m, dict) else {"role": m.role, "content": m.content} for m in messages]
    try:
        with _time_limit(RENDER_BUDGET_S):
            formatted = formatter(messages=plain)
    except _OverBudget as exc:
        raise BackendError(f"the chat template inside {model_name} did not finish within "
                           f"{RENDER_BUDGET_S:g} s; it is broken or hostile: choose another "
                           "model or file") from exc
    except (jinja2.TemplateError, TypeError, ValueError, KeyError, MemoryError) as exc:
        raise BackendError(f"the chat template inside {model_name} cannot be used "
                           f"({type(exc).__name__}: {exc}); choose another model or file") from exc
    if len(formatted.prompt) > MAX_PROMPT_CHARS:
        raise BackendError(f"the chat template inside {model_name} made a prompt of "
                           f"{len(formatted.prompt):,} characters; choose another model or file")
    return formatted


def check_chat_template(template: str, model_name: str) -> None:
    """Refuse, with the reason, a template that cannot render a short conversation."""
    import jinja2

    try:
        formatter = budgeted_formatter(template, "</s>", "<s>")
    except jinja2.TemplateError as exc:
        raise BackendError(f"the chat template inside {model_name} cannot be read "
                           f"({type(exc).__name__}: {exc})") from exc
    render_chat(formatter, SAMPLE, model_name)


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Stop Python code run inside the block (this thread only) once `seconds` have passed:
    a trace function checks the clock on every line, so a loop that calls nothing stops too."""
    deadline = time.monotonic() + seconds

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise _OverBudget
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)
