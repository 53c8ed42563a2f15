"""`finetune models ...`: search the hub (offline results marked), keep a collection, check availability."""

from __future__ import annotations

from pathlib import Path

import typer
from google.protobuf import json_format
from rich.text import Text

from finetune.catalog.v1 import catalog_service_pb2 as pb, model_pb2
from finetune.cli import render
from finetune.cli.context import EXIT_FAILED, State, state
from services.common.model_ids import FINE_TUNED_NAMESPACE, fine_tuned_id

app = typer.Typer(help="Find language models, keep a collection, check what can be fine-tuned here.", no_args_is_help=True)


def search_models(st: State, query: str, limit: int = 10, category: str = "", sort: str = "downloads"):
    return st.stub("catalog").SearchModels(pb.SearchModelsRequest(query=query, limit=limit, category=category, sort=sort))


def check_model(st: State, model_id: str, batch_size: int = 0, seq_len: int = 0, lora_r: int = 0):
    request = pb.CheckModelAvailabilityRequest(model_id=model_id, batch_size=batch_size, seq_len=seq_len, lora_r=lora_r)
    return st.stub("catalog").CheckModelAvailability(request)


def offline_note(result) -> Text:
    return Text(f"offline results: {result.offline_reason or 'the hub was not asked'}", style="yellow")


@app.command()
def search(
    ctx: typer.Context,
    query: str = typer.Argument(..., help="Words to search for, e.g. llama."),
    limit: int = typer.Option(10, min=1, max=100, help="Most results."),
    category: str = typer.Option("", help="Only this category, e.g. 'Code Generation'."),
    sort: str = typer.Option("downloads", help="downloads, likes or trending."),
) -> None:
    """Search the Hugging Face Hub; offline (cache, built-in, curated) results are marked as such."""
    st = state(ctx)
    result = search_models(st, query, limit, category, sort)
    if st.json:
        st.emit_json(result)
        return
    title = f"models matching {query!r}" + (" (offline)" if result.offline else "")
    if result.models:
        st.out.print(render.model_table(result.models, title))
    else:
        st.out.print(f"no models match {query!r}")
    if result.offline:
        st.out.print(offline_note(result))


@app.command()
def add(
    ctx: typer.Context,
    model_id: str = typer.Argument(..., metavar="ID", help="Hub id (org/name), built-in id or local directory."),
    name: str = typer.Option("", help="Display name (default: derived from the id)."),
    provider: str = typer.Option("", help="Publisher, e.g. Meta."),
    category: str = typer.Option("", help="One of the guide's categories (default: derived)."),
    description: str = typer.Option("", help="Short description."),
) -> None:
    """Add a model to your collection."""
    st = state(ctx)
    model = model_pb2.Model(id=model_id, display_name=name, provider=provider, category=category, description=description)
    added = st.stub("catalog").CreateModel(pb.CreateModelRequest(model=model))
    if st.json:
        st.emit_json(added)
    else:
        st.out.print(render.model_table([added], "added to your collection"))


@app.command("list")
def list_(
    ctx: typer.Context,
    category: str = typer.Option("", help="Only this category."),
    provider: str = typer.Option("", help="Only this provider."),
    query: str = typer.Option("", help="Only models matching these words."),
) -> None:
    """List your collection."""
    st = state(ctx)
    page = st.stub("catalog").ListModels(pb.ListModelsRequest(page_size=1000, category=category, provider=provider, query=query))
    if st.json:
        st.emit_json(page)
    elif not page.models:
        st.out.print("your collection is empty: add a model with `finetune models add ID`")
    else:
        st.out.print(render.model_table(page.models, f"your collection ({page.total_size})"))


@app.command()
def check(
    ctx: typer.Context,
    model_id: str = typer.Argument(..., metavar="ID", help="Hub id, built-in id (finetune-builtin/tiny-llama-3m) or local directory."),
    batch_size: int = typer.Option(0, help="Batch size for the memory estimate (default 8)."),
    seq_len: int = typer.Option(0, help="Sequence length for the memory estimate (default 512)."),
    lora_r: int = typer.Option(0, help="LoRA rank for the memory estimate (default 16)."),
) -> None:
    """Check whether a model can be fine-tuned here and now. Exits 1 when it cannot."""
    st = state(ctx)
    report = check_model(st, model_id, batch_size, seq_len, lora_r)
    if st.json:
        st.emit_json(report)
    else:
        render.availability(st.out, report)
    if not report.can_fine_tune:
        raise typer.Exit(EXIT_FAILED)


def export_model(st: State, name: str, directory: Path, adapter: bool = False, int8: bool = False):
    """Writes a fine-tuned model's files into `directory`: the merged model (what `from_pretrained` and
    `pipeline("text-generation", model=directory)` load unchanged), with `adapter` the LoRA adapter alone, or
    with `int8` the merged model quantized for CPU inference (QuantizeModel first; its report is returned)."""
    from finetune.trainer.v1 import trainer_service_pb2 as tpb

    model_id = name if name.startswith(FINE_TUNED_NAMESPACE + "/") else fine_tuned_id(name)
    model = st.stub("catalog").GetModel(pb.GetModelRequest(name=f"models/{model_id}"))
    origin = model.fine_tuned
    if not origin.run:
        raise typer.BadParameter(f"{model_id} is not a model fine-tuned here", param_hint="NAME")
    folder = "adapter" if adapter or not origin.model_dir else "model"
    trainer = st.run_stub(origin.run.removeprefix("runs/"))  # the trainer that trained it keeps its files
    report = None
    if int8:
        report = trainer.QuantizeModel(tpb.QuantizeModelRequest(name=origin.run), timeout=600)
        folder = report.path
    listed = trainer.ListRunArtifacts(tpb.ListRunArtifactsRequest(parent=origin.run)).artifacts
    wanted = [a for a in listed if a.path.startswith(folder + "/")]
    if not wanted:
        raise typer.BadParameter(f"the run {origin.run} keeps no {folder}/ folder (is this the trainer that trained it?)")
    written = []
    for artifact in wanted:
        target = directory / artifact.path.removeprefix(folder + "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            for part in trainer.ReadRunArtifact(tpb.ReadRunArtifactRequest(name=artifact.name)):
                out.write(part.chunk)
        written.append(target)
    return written, report


@app.command()
def export(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="The fine-tuned model's name (model_saving.model_name) or its id finetune-models/NAME."),
    directory: Path = typer.Argument(..., metavar="DIR", help="Where to write it (created if missing)."),
    adapter: bool = typer.Option(False, "--adapter", help="Only the LoRA adapter (loads on its base model with peft)."),
    int8: bool = typer.Option(False, "--int8", help="The merged model with int8 linear layers, for CPU inference."),
) -> None:
    """Export a model fine-tuned here into a folder that transformers loads as it is (--int8: our loader)."""
    st = state(ctx)
    written, report = export_model(st, name, directory, adapter, int8)
    total = sum(p.stat().st_size for p in written)
    if st.json:
        st.emit_json({"directory": str(directory), "files": [str(p) for p in written], "bytes": total,
                      **({"quantization": json_format.MessageToDict(report, preserving_proto_field_name=True)} if report else {})})
    elif report is not None:
        st.out.print(f"wrote {len(written)} files ({total / 1e6:.1f} MB) to {directory}; load it with {report.loader}")
        st.out.print(f"int8 against fp32: {report.int8_bytes / 1e6:.1f} against {report.fp32_bytes / 1e6:.1f} MB, "
                     f"{report.int8_tokens_per_second:.0f} against {report.fp32_tokens_per_second:.0f} tokens/s, validation loss "
                     f"{report.int8_validation_loss:.4f} against {report.fp32_validation_loss:.4f}")
    else:
        st.out.print(f"wrote {len(written)} files ({total / 1e6:.1f} MB) to {directory}: "
                     f"pipeline(\"text-generation\", model=\"{directory}\") loads it")
