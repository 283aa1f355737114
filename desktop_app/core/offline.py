"""Seal the process off from the network before any third-party library is imported."""

from __future__ import annotations

import os

__all__ = ["OFFLINE_ENVIRONMENT", "seal_environment"]

# Each of these stops a dependency from calling home or downloading at run time.
OFFLINE_ENVIRONMENT: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",  # sentence-transformers / huggingface_hub: never query the hub
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",  # unstructured: no usage ping, no nvidia-smi probe
    "SCARF_NO_ANALYTICS": "1",
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime
    "UNSTRUCTURED_DISABLE_NOTICE": "1",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb, belt and braces with Settings()
    # Counting and cutting text into word pieces on every core (reading workers are spawned,
    # never forked, so the threads cannot deadlock a child).
    "TOKENIZERS_PARALLELISM": "true",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # no weight-loading bars on the user's terminal
    "TRANSFORMERS_VERBOSITY": "error",
}


def seal_environment() -> None:
    """Force the offline environment, overriding anything inherited: the app never needs the network."""
    os.environ.update(OFFLINE_ENVIRONMENT)
