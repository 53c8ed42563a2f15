"""`finetune datasets ...`: preview and upload files (streamed in chunks), list and show saved datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, List, Optional

import typer

from finetune.cli import render
from finetune.cli.context import EXIT_FAILED, CliError, State, state
from finetune.dataset.v1 import dataset_service_pb2 as pb

app = typer.Typer(help="Upload, preview and inspect datasets of input/output pairs.", no_args_is_help=True)

CHUNK_BYTES = 1024 * 1024  # well under the 8 MB message limit


def dataset_name(ref: str) -> str:
    """`datasets/{id}` from an id or a resource name."""
    ref = ref.strip()
    if not ref:
        raise CliError("a dataset id is required, e.g. dataset_1751023766790_b0zqofldb", "INVALID_ARGUMENT")
    return ref if ref.startswith("datasets/") else f"datasets/{ref}"


def readable_file(path: Path) -> Path:
    if not path.exists():
        raise CliError(f"no such file: {path}", "FILE_NOT_FOUND")
    if not path.is_file():
        raise CliError(f"not a file: {path}", "NOT_A_FILE")
    return path


def stream_file(path: Path, message_class, metadata) -> Iterator:
    """Metadata first, then the file in chunks: the dataset service's client-streaming upload protocol."""
    yield message_class(metadata=metadata)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            yield message_class(chunk=chunk)


def preview_file(st: State, path: Path, rows: int = 5):
    metadata = pb.UploadMetadata(filename=path.name, preview_rows=rows)
    return st.stub("dataset").PreviewDataset(stream_file(path, pb.PreviewDatasetRequest, metadata))


def upload_file(st: State, path: Path, name: str, description: str = "", tags=(), validation_fraction: float = 0.0, seed: int = 0, rows: int = 5):
    """Previews (printing the table and validation errors), then saves. Returns the saved Dataset."""
    readable_file(path)
    preview = preview_file(st, path, rows)
    if not st.json:
        render.preview(st.out, preview)
    if preview.validation_errors:
        n = len(preview.validation_errors)
        raise CliError(f"{path.name} cannot be saved: {n} validation error{'s' if n > 1 else ''} (listed above); fix the file and upload again",
                       "VALIDATION_FAILED", EXIT_FAILED)
    metadata = pb.UploadMetadata(
        filename=path.name,
        display_name=name or path.stem,
        description=description,
        tags=list(tags or ()),
        validation_fraction=validation_fraction,
        seed=seed,
    )
    return st.stub("dataset").UploadDataset(stream_file(path, pb.UploadDatasetRequest, metadata))


@app.command()
def upload(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV, TSV, JSONL or JSON file with input and output columns."),
    name: Optional[str] = typer.Option(None, "--name", "-n", help="Name to save it under (default: the file name)."),
    description: str = typer.Option("", "--description", "-d", help="Free-text description."),
    tag: Optional[List[str]] = typer.Option(None, "--tag", "-t", help="A tag; repeat for more."),
    validation_fraction: float = typer.Option(0.0, "--validation-fraction", min=0.0, max=0.5, help="Rows held out for validation (0 to 0.5)."),
    seed: int = typer.Option(0, help="Seed for the validation split."),
    rows: int = typer.Option(5, help="Rows to show in the preview."),
) -> None:
    """Validate a file, show its preview, and save it as a dataset (prints its uid)."""
    st = state(ctx)
    saved = upload_file(st, file, name or "", description, tag or (), validation_fraction, seed, rows)
    if st.json:
        st.emit_json(saved)
        return
    st.out.print()
    render.dataset(st.out, saved)
    st.out.print(f"saved dataset {saved.uid}", style="bold green", soft_wrap=True)


@app.command()
def preview(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The file to check."),
    rows: int = typer.Option(5, help="Rows to show (at most 100)."),
) -> None:
    """Validate a file and show its preview without saving it. Exits 1 when it has validation errors."""
    st = state(ctx)
    result = preview_file(st, readable_file(file), rows)
    if st.json:
        st.emit_json(result)
    else:
        render.preview(st.out, result)
    if result.validation_errors:
        raise typer.Exit(EXIT_FAILED)


@app.command("list")
def list_(
    ctx: typer.Context,
    tag: str = typer.Option("", help="Only datasets with this tag."),
    limit: int = typer.Option(50, min=1, max=1000, help="Most datasets to show."),
) -> None:
    """List saved datasets, newest first."""
    st = state(ctx)
    page = st.stub("dataset").ListDatasets(pb.ListDatasetsRequest(page_size=limit, tag=tag))
    if st.json:
        st.emit_json(page)
    elif not page.datasets:
        st.out.print("no datasets yet: upload one with `finetune datasets upload FILE`")
    else:
        st.out.print(render.dataset_table(page.datasets, page.total_size))


@app.command()
def show(ctx: typer.Context, dataset_id: str = typer.Argument(..., metavar="ID", help="Dataset uid or datasets/{uid}.")) -> None:
    """Show one dataset: rows, columns, statistics and warnings."""
    st = state(ctx)
    ds = st.stub("dataset").GetDataset(pb.GetDatasetRequest(name=dataset_name(dataset_id)))
    if st.json:
        st.emit_json(ds)
        return
    render.dataset(st.out, ds)
    if ds.statistics.column_stats:
        for c in ds.statistics.column_stats:
            st.out.print(f"  {c.name}: {c.chars_min}–{c.chars_max} chars (median {c.chars_p50}), ~{c.tokens_est_total} tokens in all", highlight=False)


@app.command()
def delete(ctx: typer.Context, dataset_id: str = typer.Argument(..., metavar="ID", help="Dataset uid or datasets/{uid}.")) -> None:
    """Delete a dataset."""
    st = state(ctx)
    name = dataset_name(dataset_id)
    st.stub("dataset").DeleteDataset(pb.DeleteDatasetRequest(name=name))
    if st.json:
        st.emit_json({"deleted": name})
    else:
        st.out.print(f"deleted {name}")
