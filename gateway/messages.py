"""JSON <-> protobuf for the gateway: bodies, query strings and form fields in; the guide's snake_case JSON out."""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from starlette.requests import Request

from services.common.errors import InvalidArgument, PayloadTooLarge
from services.common.json_shape import MAX_JSON_DEPTH, json_shape

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")
_PARSING_FIELD = re.compile(r"Failed to parse (\w+) field")
_UNKNOWN_FIELD = re.compile(r'has no field named "([^"]+)"')


def to_json(message: Message) -> dict[str, Any]:
    """The guide's JSON: proto field names, every field shown (`validation_errors: []`, `false`), and
    int64 counts as numbers (`"total_rows": 1500`) wherever that is exact.

    Long repeated number fields (a run's metric columns: 20,000 steps x 8) are converted as whole lists, the
    same values json_format writes one at a time, which is ten times slower there."""
    columns = list(_long_number_fields(message, ()))
    if columns:
        copy = type(message)()
        copy.CopyFrom(message)
        for path, _field, _values in columns:
            _parent(copy, path).ClearField(path[-1])
        message = copy
    out = json_format.MessageToDict(
        message,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
        unquote_int64_if_possible=True,
    )
    for path, field, values in columns:
        target = out
        for name in path[:-1]:
            target = target.setdefault(name, {})
        target[path[-1]] = _number_list(field, values)
    return out


LONG_REPEATED = 256
_DOUBLE, _INTEGERS = FieldDescriptor.CPPTYPE_DOUBLE, (
    FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT32, FieldDescriptor.CPPTYPE_UINT64)
_EXACT = 2**53


def _long_number_fields(message: Message, path: tuple[str, ...]):
    """(path, field, values) of each repeated double or integer field with at least LONG_REPEATED values, in
    `message` and its singular sub-messages (not inside repeated messages, not well-known types)."""
    for field, value in message.ListFields():
        if field.is_repeated and field.message_type is None and field.enum_type is None and (
                field.cpp_type == _DOUBLE or field.cpp_type in _INTEGERS) and len(value) >= LONG_REPEATED:
            yield (*path, field.name), field, list(value)
        elif not field.is_repeated and field.message_type is not None and not field.message_type.full_name.startswith("google.protobuf."):
            yield from _long_number_fields(value, (*path, field.name))


def _parent(message: Message, path: tuple[str, ...]) -> Message:
    for name in path[:-1]:
        message = getattr(message, name)
    return message


def _number_list(field: FieldDescriptor, values: list) -> list:
    if field.cpp_type == _DOUBLE:  # proto JSON spells the non-finite doubles out
        return [v if v - v == 0 else ("NaN" if v != v else "Infinity" if v > 0 else "-Infinity") for v in values]
    return [v if -_EXACT < v < _EXACT or float(v) == v else str(v) for v in values]  # json_format's unquote rule


def merge_json(message: Message, value: Any, *, where: str) -> Message:
    """ParseDict `value` into `message` (snake_case or lowerCamelCase keys). Bad input is a 400 naming the
    field; `where` says which part of the request it came from (body, query, form, path)."""
    if not isinstance(value, dict):
        raise InvalidArgument(f"the {where} must be a JSON object, not {type(value).__name__}", reason="INVALID_BODY")
    try:
        json_format.ParseDict(_normalise(value, message.DESCRIPTOR), message)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        text = str(exc)
        field = ".".join(_PARSING_FIELD.findall(text) + _UNKNOWN_FIELD.findall(text)[:1])  # modelSaving.saveModel
        raise InvalidArgument(
            f"invalid {where}: {text}", reason="INVALID_FIELD", metadata={"field": field, "location": where}
        ) from None
    return message


def nest(field_path: str, value: Any) -> dict[str, Any]:
    """`nest("dataset.name", "datasets/x")` -> `{"dataset": {"name": "datasets/x"}}`."""
    for part in reversed(field_path.split(".")):
        value = {part: value}
    return value


def deep_merge(into: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            deep_merge(into[key], value)
        else:
            into[key] = value
    return into


def strings_to_json(pairs: Iterable[tuple[str, str]], descriptor: Descriptor, *, where: str) -> dict[str, Any]:
    """Query parameters or form fields (`page_size=5`, `dataset.display_name=x`, `tags=a&tags=b`) as a
    proto-JSON dict for `descriptor`, typed by the fields they name. An unknown name is a 400 that lists
    the names this request accepts."""
    out: dict[str, Any] = {}
    for key, raw in pairs:
        field = _resolve(descriptor, key, where)
        if field.is_repeated:
            # `tags=a,b` and `tags=a&tags=b` both give ["a", "b"].
            items = [p.strip() for p in raw.split(",") if p.strip()]
            value: Any = (_lookup(out, key) or []) + [_scalar_from_string(field, p, key, where) for p in items]
        else:
            value = _scalar_from_string(field, raw, key, where)
        deep_merge(out, nest(key, value))
    return out


def _lookup(out: dict[str, Any], key: str) -> Any:
    node: Any = out
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _resolve(descriptor: Descriptor, key: str, where: str) -> FieldDescriptor:
    node, field = descriptor, None
    for part in key.split("."):
        if node is None:
            field = None
            break
        field = node.fields_by_name.get(part) or next((f for f in node.fields if f.json_name == part), None)
        if field is None:
            break
        node = None if _from_string(field) else field.message_type
    if field is None or not _from_string(field):
        accepted = ", ".join(settable_names(descriptor)) or "none"
        raise InvalidArgument(
            f"unknown {where} parameter {key!r}; this request accepts: {accepted}",
            reason="UNKNOWN_PARAMETER",
            metadata={"field": key, "location": where},
        )
    return field


def settable_names(descriptor: Descriptor, prefix: str = "", depth: int = 0) -> list[str]:
    """Field paths a query string can set: scalars, enums and string-like well-known types."""
    names: list[str] = []
    for f in descriptor.fields:
        if _from_string(f):
            names.append(prefix + f.name)
        elif depth < 2 and _is_plain_message(f):
            names += settable_names(f.message_type, f"{prefix}{f.name}.", depth + 1)
    return names


_STRING_FORM_TYPES = {f"google.protobuf.{n}" for n in ("Timestamp", "Duration", "FieldMask", "StringValue", "BytesValue",
                                                         "Int32Value", "Int64Value", "UInt32Value", "UInt64Value",
                                                         "DoubleValue", "FloatValue", "BoolValue")}


def _from_string(field: FieldDescriptor) -> bool:
    """Scalars, enums and the well-known types whose JSON form is one string or number."""
    return field.message_type is None or field.message_type.full_name in _STRING_FORM_TYPES


def _is_plain_message(field: FieldDescriptor) -> bool:
    mt = field.message_type
    return mt is not None and not mt.full_name.startswith("google.protobuf.") and not mt.GetOptions().map_entry


def _scalar_from_string(field: FieldDescriptor, raw: str, key: str, where: str) -> Any:
    if field.type == FieldDescriptor.TYPE_BOOL or (field.message_type and field.message_type.name == "BoolValue"):
        lowered = raw.strip().lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise InvalidArgument(f"{where} parameter {key!r} must be true or false, not {raw!r}", reason="INVALID_FIELD", metadata={"field": key, "location": where})
    if field.message_type is not None and field.message_type.full_name == "google.protobuf.FieldMask":
        return _camel_mask(raw)
    return raw  # ParseDict reads numbers, enums, timestamps and durations from their string forms


def _camel_mask(paths: str) -> str:
    # FieldMask's JSON form is lowerCamelCase; people write the proto names (`display_name,tags`).
    return ",".join(re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), p.strip()) for p in paths.split(",") if p.strip())


def _normalise(value: dict[str, Any], descriptor: Descriptor) -> dict[str, Any]:
    """What people write, in the forms ParseDict reads: FieldMasks in proto names, and enum values by
    their short names (`"priority": "high"` for JOB_PRIORITY_HIGH), at any depth."""
    out = dict(value)
    for key, item in value.items():
        field = descriptor.fields_by_name.get(key) or next((f for f in descriptor.fields if f.json_name == key), None)
        if field is None:
            continue
        if field.enum_type is not None:
            out[key] = [_enum_name(field, i) for i in item] if isinstance(item, list) else _enum_name(field, item)
        elif field.message_type is None:
            continue
        elif field.message_type.full_name == "google.protobuf.FieldMask" and isinstance(item, str):
            out[key] = _camel_mask(item)
        elif isinstance(item, dict) and _is_plain_message(field):
            out[key] = _normalise(item, field.message_type)
    return out


def _enum_name(field: FieldDescriptor, value: Any) -> Any:
    """`high` or `High` -> `JOB_PRIORITY_HIGH` for a JobPriority field; anything else unchanged, for
    ParseDict to accept (a full name, a number) or to refuse with the field named."""
    if not isinstance(value, str) or value in field.enum_type.values_by_name:
        return value
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", field.enum_type.name).upper() + "_"  # JobPriority -> JOB_PRIORITY_
    full = prefix + value.strip().upper().replace("-", "_").replace(" ", "_")
    return full if full in field.enum_type.values_by_name else value


_BOM = "\ufeff"


async def read_json(request: Request, limit: int) -> Any:
    """The request body parsed as JSON, or None when it is empty. Over `limit` bytes is a 413; not UTF-8
    (a UTF-8 byte order mark is allowed), not JSON, or not of a shape we take (`services.common.json_shape`)
    is a 400."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"request body exceeds {limit} bytes", metadata={"limit_bytes": limit})
    try:
        text = body.decode("utf-8").removeprefix(_BOM)
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"the request body is not UTF-8 text: {exc.reason} at byte {exc.start}", reason="MALFORMED_JSON") from None
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"the request body is not valid JSON: {exc}", reason="MALFORMED_JSON") from None
    except RecursionError:  # nested past Python's recursion limit: too deep by far
        raise _too_deep() from None
    shape = json_shape(value)
    if shape.too_deep():
        raise _too_deep()
    if shape.lone_surrogate:
        raise InvalidArgument(f"the request body holds the escape {shape.lone_surrogate} on its own: half of a UTF-16 "
                              "surrogate pair, which is not a character", reason="MALFORMED_JSON")
    if value is None:  # not the same as no body: a client that sends null meant to send something
        raise InvalidArgument("the request body must be a JSON object, not null: send {} or no body for no fields",
                              reason="INVALID_BODY")
    return value


def _too_deep() -> InvalidArgument:
    return InvalidArgument(f"the request body is nested too deep: objects and lists may nest {MAX_JSON_DEPTH} levels",
                           reason="JSON_TOO_DEEP", metadata={"limit": MAX_JSON_DEPTH})
