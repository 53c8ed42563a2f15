"""Rich renderings of the services' messages: previews, datasets, models, availability reports."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.json_format import MessageToDict
from rich.console import Console
from rich.table import Table
from rich.text import Text

CELL_CHARS = 60


def plain(*values) -> list[Text]:
    """Table cells as literal text: names and descriptions come from users and may hold `[...]`."""
    return [v if isinstance(v, Text) else Text(str(v)) for v in values]


def short(text: str, limit: int = CELL_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(ts) -> str:
    """A protobuf Timestamp as local `YYYY-MM-DD HH:MM`, empty when unset."""
    if ts is None or not (ts.seconds or ts.nanos):
        return ""
    return datetime.fromtimestamp(ts.seconds).strftime("%Y-%m-%d %H:%M")


def count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def nbytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def key_values(console: Console, title: str, rows: list[tuple[str, object]]) -> None:
    table = Table(title=title, show_header=False, title_justify="left", box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        if value not in (None, "", [], ()):
            table.add_row(*plain(key, value))
    console.print(table)


def problems(console: Console, title: str, items, style: str) -> None:
    items = list(items)
    if items:
        console.print(Text(f"{title} ({len(items)}):", style=f"bold {style}"))
        for item in items:
            console.print(Text(f"  • {item}", style=style))


def preview(console: Console, p) -> None:
    """The guide's preview: the first rows, the statistics, then validation errors and warnings."""
    stats = p.statistics
    console.print(
        Text.assemble(
            (p.filename or "upload", "bold"),
            f": {stats.total_rows} rows, {stats.total_columns} columns, {p.format or '?'}",
            f", {p.encoding}" if p.encoding else "",
            f", delimiter {p.delimiter!r}" if p.delimiter else "",
        )
    )
    columns = list(p.columns)
    if columns and p.data:
        table = Table(show_lines=False, title_justify="left")
        table.add_column("#", justify="right", style="dim", no_wrap=True)
        for name in columns:
            table.add_column(name, overflow="fold")
        for i, row in enumerate(p.data, start=1):
            values = MessageToDict(row)
            table.add_row(*plain(str(i), *(short(values.get(c, "")) for c in columns)))
        console.print(table)
    if stats.column_stats:
        lengths = Table(title="lengths (characters; tokens ≈ chars/4)", title_justify="left", box=None)
        for name in ("column", "empty", "min", "median", "p95", "max", "tokens"):
            lengths.add_column(name, justify="left" if name == "column" else "right")
        for c in stats.column_stats:
            lengths.add_row(*plain(c.name, c.empty, c.chars_min, c.chars_p50, c.chars_p95, c.chars_max, c.tokens_est_total))
        console.print(lengths)
    problems(console, "validation errors", p.validation_errors, "red")
    problems(console, "warnings", p.warnings, "yellow")
    if not p.validation_errors:
        console.print(Text("✓ ready to save: input and output columns present, no blocking problems", style="green"))


def dataset(console: Console, d) -> None:
    key_values(
        console,
        f"dataset {d.uid}",
        [
            ("name", d.display_name),
            ("resource", d.name),
            ("description", d.description),
            ("tags", ", ".join(d.tags)),
            ("file", f"{d.filename} ({nbytes(d.size_bytes)}, {d.format}, {d.encoding})"),
            ("rows", f"{d.train_rows} train, {d.validation_rows} validation"),
            ("columns", ", ".join(d.columns)),
            ("repaired from", d.source_dataset),
            ("created", when(d.create_time)),
        ],
    )
    problems(console, "warnings", d.warnings, "yellow")


def dataset_table(datasets, total: int | None = None) -> Table:
    table = Table(title=f"datasets ({total if total is not None else len(datasets)})", title_justify="left")
    table.add_column("uid", no_wrap=True, style="cyan")
    table.add_column("name")
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("tags")
    table.add_column("created", no_wrap=True)
    for d in datasets:
        rows = f"{d.train_rows}+{d.validation_rows}" if d.validation_rows else str(d.train_rows)
        table.add_row(*plain(d.uid, d.display_name, rows, ", ".join(d.tags), when(d.create_time)))
    return table


def model_table(models, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("id", no_wrap=True, style="cyan")
    table.add_column("name")
    table.add_column("provider")
    table.add_column("category")
    table.add_column("params", justify="right", no_wrap=True)
    table.add_column("downloads", justify="right", no_wrap=True)
    table.add_column("likes", justify="right", no_wrap=True)
    table.add_column("source", no_wrap=True)
    for m in models:
        name = m.display_name + ("" if m.fine_tunable or not m.fine_tune_note else " (not tunable)")
        table.add_row(*plain(m.id, name, m.provider, m.category, m.parameters or "?", count(m.downloads), count(m.likes), m.source))
    return table


def availability(console: Console, a) -> None:
    verdict = Text("✓ can be fine-tuned here", style="bold green") if a.can_fine_tune else Text("✗ cannot be fine-tuned here", style="bold red")
    console.print(Text.assemble((a.model_id, "bold cyan"), ": ", verdict))
    memory = ""
    if a.estimated_memory_bytes:
        memory = f"needs ~{nbytes(a.estimated_memory_bytes)} (batch {a.batch_size}, seq {a.seq_len})"
        if a.available_memory_bytes:
            memory += f"; {nbytes(a.available_memory_bytes)} free on {a.memory_device or 'this machine'}"
    key_values(
        console,
        "",
        [
            ("found", ", ".join(a.locations) if a.found else "no"),
            ("local path", a.local_path),
            ("hub", a.hub_reason if not a.hub_reachable else "reachable"),
            ("architecture", f"{a.architecture} ({a.model_type})" if a.architecture else ""),
            ("parameters", a.parameters),
            ("tokenizer", "present" if a.tokenizer_present else ("missing" if a.found else "")),
            ("LoRA targets", ", ".join(a.lora_target_modules)),
            ("gated", a.gated),
            ("memory", memory),
        ],
    )
    problems(console, "problems", a.problems, "red")
    problems(console, "notes", a.notes, "dim")
