"""`finetune configs ...`: check hyperparameters against the guide's guidance, save them, load the best."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import ParseDict, ParseError
from rich.table import Table
from rich.text import Text

from finetune.cli import render
from finetune.cli.context import EXIT_FAILED, CliError, State, state
from finetune.jobs.v1 import configuration_pb2 as cpb, jobs_service_pb2 as pb
from finetune.trainer.v1 import run_pb2

app = typer.Typer(help="Check, save and load hyperparameter configurations.", no_args_is_help=True)

# Short names people type; every field of Hyperparameters is accepted by its own name too.
ALIASES = {
    "lr": "learning_rate",
    "bs": "batch_size",
    "r": "lora_r",
    "alpha": "lora_alpha",
    "dropout": "lora_dropout",
    "steps": "max_steps",
    "seq_len": "max_seq_length",
    "grad_accum": "gradient_accumulation_steps",
    "warmup": "warmup_steps",
}
MODES = {"manual": cpb.CONFIGURATION_MODE_MANUAL, "automated": cpb.CONFIGURATION_MODE_AUTOMATED}
_FIELDS = run_pb2.Hyperparameters.DESCRIPTOR.fields_by_name


def _value(name: str, raw: str):
    field = _FIELDS[name]
    try:
        if field.is_repeated:
            return [part.strip() for part in raw.split(",") if part.strip()]
        if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            return float(raw)
        if field.type in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64):
            return int(raw)
        if field.type == FieldDescriptor.TYPE_BOOL:
            if raw.strip().lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(raw)
            return raw.strip().lower() in ("1", "true", "yes", "on")
        return raw
    except ValueError:
        kind = {FieldDescriptor.TYPE_BOOL: "true or false", FieldDescriptor.TYPE_DOUBLE: "a number"}.get(field.type, "an integer")
        raise CliError(f"--set {name}={raw!r}: {name} takes {kind}", "INVALID_FIELD") from None


def hyperparameters(sets: list[str] | None = None, file: Path | None = None, base: dict | None = None) -> run_pb2.Hyperparameters:
    """Hyperparameters from `base`, then a JSON file (the values, or an object with `hyperparameters`),
    then `key=value` settings. Unknown names and bad values are CliErrors naming them."""
    values: dict = dict(base or {})
    if file is not None:
        try:
            loaded = json.loads(Path(file).read_text())
        except FileNotFoundError:
            raise CliError(f"no such file: {file}", "FILE_NOT_FOUND") from None
        except (OSError, ValueError) as exc:
            raise CliError(f"{file} is not a JSON object of hyperparameters: {exc}", "INVALID_CONFIG_FILE") from None
        if isinstance(loaded, dict) and isinstance(loaded.get("hyperparameters"), dict):
            loaded = loaded["hyperparameters"]
        if not isinstance(loaded, dict):
            raise CliError(f"{file} must hold a JSON object, e.g. {{\"learning_rate\": 0.0002, \"epochs\": 3}}", "INVALID_CONFIG_FILE")
        values.update(loaded)
    for item in sets or ():
        key, sep, raw = item.partition("=")
        key = ALIASES.get(key.strip(), key.strip())
        if not sep or not key:
            raise CliError(f"--set takes key=value, e.g. --set learning_rate=0.0002, not {item!r}", "INVALID_FIELD")
        if key not in _FIELDS:
            raise CliError(f"unknown hyperparameter {key!r}; known: {', '.join(sorted(_FIELDS))} (and {', '.join(sorted(ALIASES))})", "UNKNOWN_FIELD")
        values[key] = _value(key, raw.strip())
    try:
        return ParseDict(values, run_pb2.Hyperparameters())
    except ParseError as exc:
        raise CliError(f"bad hyperparameters: {exc}", "INVALID_FIELD") from None


def mode_value(mode: str) -> int:
    if mode.lower() not in MODES:
        raise CliError(f"--mode must be manual or automated, not {mode!r}", "INVALID_FIELD")
    return MODES[mode.lower()]


def validate(st: State, hp: run_pb2.Hyperparameters, model: str = "", dataset: str = "", mode: str = "manual") -> pb.ValidateConfigurationResponse:
    request = pb.ValidateConfigurationRequest(hyperparameters=hp, model=model, dataset=dataset, mode=mode_value(mode))
    return st.stub("jobs").ValidateConfiguration(request)


def values_table(hp: run_pb2.Hyperparameters, title: str) -> Table:
    table = Table(title=title, title_justify="left", box=None, show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for field, value in hp.ListFields():
        if field.name != "uid":
            shown = ", ".join(value) if field.is_repeated else f"{value:g}" if isinstance(value, float) else str(value)
            table.add_row(*render.plain(field.name, shown))
    return table


def issues(st: State, title: str, items, style: str) -> None:
    render.problems(st.out, title, [f"{i.field or 'configuration'}: {i.message}" + (f" (try {i.suggested_value})" if i.suggested_value else "") for i in items], style)


def show_validation(st: State, result: pb.ValidateConfigurationResponse) -> None:
    issues(st, "errors", result.errors, "red")
    issues(st, "warnings", result.warnings, "yellow")
    if result.valid:
        st.out.print(Text.assemble(("✓ valid", "bold green"), f"; configuration uid {result.normalized.uid}" if result.normalized.uid else ""))
        st.out.print(values_table(result.normalized, "values (defaults filled in)"))
    if result.HasField("suggested") and result.suggested.ListFields():
        st.out.print(values_table(result.suggested, "memory advice"))
    if result.estimated_memory_bytes:
        st.out.print(f"estimated training memory {render.nbytes(result.estimated_memory_bytes)}"
                     + (f" of {render.nbytes(result.available_memory_bytes)} free" if result.available_memory_bytes else ""))


def show_configuration(st: State, config: cpb.Configuration) -> None:
    render.key_values(
        st.out,
        f"configuration {config.uid}",
        [
            ("mode", cpb.ConfigurationMode.Name(config.mode).removeprefix("CONFIGURATION_MODE_").lower()),
            ("name", config.display_name),
            ("description", config.description),
            ("best job", config.best_job),
            ("best validation loss", f"{config.best_validation_loss:.4f}" if config.HasField("best_validation_loss") else ""),
            ("completed jobs", config.completed_jobs),
            ("from sweep", config.source_sweep),
            ("created", render.when(config.create_time)),
        ],
    )
    st.out.print(values_table(config.hyperparameters, "values"))


SET_HELP = "A hyperparameter as key=value (learning_rate=0.0002, lr=2e-4, batch_size=8, target_modules=q_proj,v_proj); repeat for more."


@app.command("validate")
def validate_command(
    ctx: typer.Context,
    set_: Optional[List[str]] = typer.Option(None, "--set", "-s", help=SET_HELP),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="JSON file with the values (or an object with 'hyperparameters')."),
    model: str = typer.Option("", help="The model the values are for (guides the learning rate and memory)."),
    dataset: str = typer.Option("", help="The dataset the values are for (guides the epochs)."),
    mode: str = typer.Option("manual", help="manual or automated (the UID's last letter)."),
) -> None:
    """Check hyperparameters: errors for impossible values, warnings with the guide's guidance. Exits 1 when invalid."""
    st = state(ctx)
    result = validate(st, hyperparameters(set_, file), model, dataset, mode)
    if st.json:
        st.emit_json(result)
    else:
        show_validation(st, result)
    if not result.valid:
        raise typer.Exit(EXIT_FAILED)


@app.command()
def best(ctx: typer.Context, mode: str = typer.Option("manual", help="manual or automated.")) -> None:
    """Load the configuration whose completed job reached the lowest validation loss."""
    st = state(ctx)
    mode_value(mode)
    config = st.stub("jobs").GetBestConfiguration(pb.GetBestConfigurationRequest(mode=mode.lower()))
    if st.json:
        st.emit_json(config)
    else:
        show_configuration(st, config)


@app.command()
def save(
    ctx: typer.Context,
    set_: Optional[List[str]] = typer.Option(None, "--set", "-s", help=SET_HELP),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="JSON file with the values."),
    name: str = typer.Option("", help="Display name."),
    description: str = typer.Option("", help="Free-text description."),
    mode: str = typer.Option("manual", help="manual or automated."),
) -> None:
    """Save a configuration under its deterministic UID (prints the UID)."""
    st = state(ctx)
    config = cpb.Configuration(mode=mode_value(mode), hyperparameters=hyperparameters(set_, file), display_name=name, description=description)
    saved = st.stub("jobs").CreateConfiguration(pb.CreateConfigurationRequest(configuration=config))
    if st.json:
        st.emit_json(saved)
    else:
        show_configuration(st, saved)


@app.command()
def show(ctx: typer.Context, uid: str = typer.Argument(..., help="Configuration UID or configurations/{uid}.")) -> None:
    """Show a saved configuration."""
    st = state(ctx)
    name = uid if uid.startswith("configurations/") else f"configurations/{uid}"
    config = st.stub("jobs").GetConfiguration(pb.GetConfigurationRequest(name=name))
    if st.json:
        st.emit_json(config)
    else:
        show_configuration(st, config)


@app.command("list")
def list_(ctx: typer.Context, mode: str = typer.Option("", help="Only manual or automated."), limit: int = typer.Option(50, min=1, max=1000)) -> None:
    """List saved configurations, newest first."""
    st = state(ctx)
    page = st.stub("jobs").ListConfigurations(pb.ListConfigurationsRequest(page_size=limit, mode=mode_value(mode) if mode else 0))
    if st.json:
        st.emit_json(page)
        return
    table = Table(title=f"configurations ({page.total_size})", title_justify="left")
    for column in ("uid", "mode", "name", "lr", "batch", "epochs", "lora r", "best val loss"):
        table.add_column(column, no_wrap=column == "uid")
    for c in page.configurations:
        hp = c.hyperparameters
        loss = f"{c.best_validation_loss:.4f}" if c.HasField("best_validation_loss") else ""
        mode_name = cpb.ConfigurationMode.Name(c.mode).removeprefix("CONFIGURATION_MODE_").lower()
        table.add_row(*render.plain(c.uid, mode_name, c.display_name, f"{hp.learning_rate:g}", hp.batch_size, hp.epochs, hp.lora_r, loss))
    st.out.print(table)
