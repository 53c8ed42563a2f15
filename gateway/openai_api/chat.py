"""OpenAI chat messages as the platform's input/output pairs: one rule for training files and for requests.

A chat training example `{"messages": [..., {"role": "assistant", "content": A}]}` becomes the row
`input = prompt_from_messages(everything before A)`, `output = A`; a chat completion request's messages
become the prompt by the same function, so a fine-tuned model is asked exactly what it was trained on.

`prompt_from_messages`: a single user message is its content as it is (so a model trained on plain
input/output rows answers chat requests unchanged); otherwise a system message comes first as its text,
then each turn on its own lines as `User: ...` / `Assistant: ...`.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.openai_api.errors import OpenAIError

ROLES = ("system", "developer", "user", "assistant")


def text_of(content: Any, where: str) -> str:
    """A message's content: a string, or a list of text parts (`{"type": "text", "text": ...}`)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                                         for p in content):
        return "".join(p["text"] for p in content)
    raise OpenAIError(400, f"{where}.content must be a string or a list of text parts; images and audio are not supported",
                      param=f"{where}.content", code="invalid_content")


def prompt_from_messages(messages: Any, where: str = "messages") -> str:
    if not isinstance(messages, list) or not messages:
        raise OpenAIError(400, f"{where} must be a non-empty list of messages", param=where, code="invalid_messages")
    turns: list[tuple[str, str]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise OpenAIError(400, f"{where}[{i}] must be an object with a role of {', '.join(ROLES)}",
                              param=f"{where}[{i}].role", code="invalid_role")
        turns.append(("system" if message["role"] == "developer" else message["role"], text_of(message.get("content"), f"{where}[{i}]")))
    if turns[-1][0] != "user":
        raise OpenAIError(400, f"the last of {where} must be a user message: the model answers it", param=where, code="invalid_messages")
    if len(turns) == 1:
        return turns[0][1]
    lines = [text for role, text in turns if role == "system"]
    dialogue = [f"{role.capitalize()}: {text}" for role, text in turns if role != "system"]
    if len(dialogue) == 1:  # a system message and one question: the instruction, then the question as it is
        return "\n\n".join([*lines, turns[-1][1]])
    return "\n\n".join([*lines, "\n".join(dialogue)])


def row_from_example(example: Any, line: int) -> dict[str, str]:
    """One line of a chat training file as an input/output row; an error names the line."""
    where = f"line {line}"
    if not isinstance(example, dict) or not isinstance(example.get("messages"), list) or not example["messages"]:
        raise OpenAIError(400, f"{where}: each line must be an object with a non-empty 'messages' list", param="file",
                          code="invalid_training_file")
    messages = example["messages"]
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "assistant":
        raise OpenAIError(400, f"{where}: the last message must be the assistant's answer to train on", param="file",
                          code="invalid_training_file")
    try:
        return {"input": prompt_from_messages(messages[:-1], f"{where}: messages"),
                "output": text_of(last.get("content"), f"{where}: messages[{len(messages) - 1}]")}
    except OpenAIError as exc:
        raise OpenAIError(400, exc.message, param="file", code="invalid_training_file") from None


def is_chat_file(data: bytes) -> bool:
    """Whether a JSONL file is in the chat format (its first record has `messages`)."""
    for raw in data.splitlines():
        if raw.strip():
            try:
                first = json.loads(raw)
            except ValueError:
                return False  # the dataset service names the problem
            return isinstance(first, dict) and "messages" in first
    return False


def chat_file_to_rows(data: bytes) -> bytes:
    """A chat JSONL file as input/output JSONL (blank lines dropped); an error here names the file's line."""
    out = []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            example = json.loads(raw)
        except ValueError as exc:
            raise OpenAIError(400, f"line {number} is not valid JSON: {exc}", param="file", code="invalid_training_file") from None
        out.append(json.dumps(row_from_example(example, number), ensure_ascii=False))
    return ("\n".join(out) + "\n").encode()
