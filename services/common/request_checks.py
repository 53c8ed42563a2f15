"""What every request must be before a handler sees it: a protobuf message of the method's type, whose enum
fields hold values the enum defines. The server's interceptor applies these to every call.

proto3 enums are open: a number the enum does not define (`split: 99`) parses, and a handler reading it
would take it for something (often the default). Refusing it here names the field for every method at once.
"""

from __future__ import annotations

from functools import cache

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from services.common.errors import InvalidArgument


def undefined_enum_error(message: Message) -> InvalidArgument | None:
    """INVALID_ARGUMENT naming the first enum field (as a path, `run.priority`, `items[2].kind`) that holds
    a number its enum does not define; None when every one is defined."""
    found = _undefined_enum(message, "")
    if found is None:
        return None
    path, number, enum = found
    names = ", ".join(v.name for v in enum.values if v.number != 0)
    return InvalidArgument(f"{path} has no value {number}: use one of {names} (or their numbers)",
                           reason="INVALID_ENUM_VALUE", metadata={"field": path, "value": number})


def _undefined_enum(message: Message, prefix: str):
    for field, value in message.ListFields():
        path = prefix + field.name
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            field, items = field.message_type.fields_by_name["value"], [(f"{path}[{k!r}]", v) for k, v in value.items()]
        else:
            items = [(f"{path}[{i}]", v) for i, v in enumerate(value)] if field.is_repeated else [(path, value)]
        if field.enum_type is not None:
            for item_path, number in items:
                if number not in field.enum_type.values_by_number:
                    return item_path, number, field.enum_type
        elif field.message_type is not None and has_enums(field.message_type):
            for item_path, item in items:
                if (found := _undefined_enum(item, item_path + ".")) is not None:
                    return found
    return None


@cache
def has_enums(descriptor: Descriptor) -> bool:
    """Whether a message of this type can hold an enum at any depth (so most messages are never walked)."""
    return _has_enums(descriptor, set())


def _has_enums(descriptor: Descriptor, seen: set[str]) -> bool:
    if descriptor.full_name in seen:
        return False  # a recursive type: its enums, if any, are found on the first visit
    seen.add(descriptor.full_name)
    for field in descriptor.fields:
        if field.enum_type is not None:
            return True
        if field.type == FieldDescriptor.TYPE_MESSAGE and _has_enums(field.message_type, seen):
            return True
    return False
