"""Column-name normalisation: ' Input', 'OUTPUT\\r' and '\\ufeffinput' are read as 'input'/'output', with a warning."""

from __future__ import annotations

from services.common.errors import InvalidArgument
from services.dataset.issues import WARNING, Issue

INPUT, OUTPUT = "input", "output"
REQUIRED_COLUMNS = (INPUT, OUTPUT)

_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"  # BOM and zero-width characters


def normalise_columns(raw: list[str]) -> tuple[list[str], list[Issue]]:
    """Clean names: strip BOMs, zero-width characters and surrounding whitespace (\\r included);
    a name that then equals 'input' or 'output' ignoring case becomes exactly that; an empty name
    becomes 'unnamed_<position>'. Each change is a warning. Two columns that both read as
    'input' (or 'output') are an error; other repeated names get a '_2', '_3' suffix."""
    names: list[str] = []
    notices: list[Issue] = []
    for position, original in enumerate(raw, start=1):
        original = "" if original is None else str(original)
        name, fixes = _clean(original)
        if not name:
            name = f"unnamed_{position}"
            fixes = ["it has no name"]
        if fixes:
            notices.append(
                Issue("COLUMN_RENAMED", WARNING, f"Column {original!r} was read as {name!r} ({'; '.join(fixes)}).")
            )
        names.append(name)
    return _deduplicated(raw, names, notices), notices


def _clean(original: str) -> tuple[str, list[str]]:
    fixes = []
    name = original
    if any(ch in name for ch in _INVISIBLE):
        name = "".join(ch for ch in name if ch not in _INVISIBLE)
        fixes.append("removed a byte-order mark or zero-width character")
    stripped = name.strip()
    if stripped != name:
        without_cr = name.replace("\r", "")
        has_cr, has_space = without_cr != name, without_cr.strip() != without_cr
        what = {
            (True, True): "surrounding whitespace and a carriage return",
            (True, False): "a carriage return",
        }.get((has_cr, has_space), "surrounding whitespace")
        fixes.append(f"removed {what}")
        name = stripped
    if name.casefold() in REQUIRED_COLUMNS and name != name.casefold():
        name = name.casefold()
        fixes.append("changed to lower case")
    return name, fixes


def _deduplicated(raw: list[str], names: list[str], notices: list[Issue]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        if name in seen:
            first = seen[name]
            if name in REQUIRED_COLUMNS:
                raise InvalidArgument(
                    f"Columns {first + 1} ({raw[first]!r}) and {i + 1} ({raw[i]!r}) are both read as {name!r}. "
                    f"Keep one '{name}' column: rename or remove the other.",
                    reason="DUPLICATE_COLUMN",
                    metadata={"column": name},
                )
            suffix = 2
            while f"{name}_{suffix}" in seen or f"{name}_{suffix}" in names:
                suffix += 1
            renamed = f"{name}_{suffix}"
            message = f"Column {i + 1} repeats the name {name!r}; it was read as {renamed!r}."
            notices.append(Issue("COLUMN_RENAMED", WARNING, message))
            name = renamed
        seen[name] = i
        out.append(name)
    return out
