"""What went wrong talking to a Hugging Face Hub, in a few words: for the catalog's searches and the trainer's pushes."""

from __future__ import annotations


def describe_hub_error(error: BaseException) -> str:
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(error, OfflineModeIsEnabled):
        return "offline mode is enabled"
    if isinstance(error, HfHubHTTPError) and error.response is not None:
        return f"it answered HTTP {error.response.status_code}"
    return f"{type(error).__name__}: {error}".strip().rstrip(":")
