"""`finetune demo`: the guide's workflow end to end on the sample dataset and the pretrained built-in model,
ending with the base model's and the fine-tuned model's answers side by side."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Optional

import typer
from google.protobuf.json_format import MessageToDict
from rich.table import Table
from rich.text import Text

from finetune.cli import configs, datasets, jobs, models, render
from finetune.cli.context import EXIT_FAILED, CliError, State, state
from finetune.cli.training import follow, print_outcome, stream_generation
from finetune.dataset.v1 import dataset_service_pb2 as dpb
from finetune.trainer.v1 import trainer_service_pb2 as tpb
from services.catalog.builtin_models import BUILTIN_MODELS, PRETRAINED_MODEL_ID

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SAMPLE = EXAMPLES / "support_intents.csv"
SAMPLE_HELDOUT = EXAMPLES / "support_intents_heldout.csv"
SAMPLE_PROMPT = "How do I reset my password?"
# The LoRA settings that teach the pretrained built-in model the sample's ten answers in about half a
# minute on two CPU cores (README, "The offline demo"): every linear layer, a high rank and learning rate,
# no dropout (80 rows), cosine decay; batch 16 over 80 rows is 25 epochs in 125 steps.
DEMO_HYPERPARAMETERS = {
    "learning_rate": 5e-3, "batch_size": 16, "epochs": 100, "max_steps": 125, "warmup_steps": 5, "scheduler": "cosine",
    "weight_decay": 0.0, "lora_r": 32, "lora_alpha": 64, "lora_dropout": 0.0, "target_modules": ["all-linear"],
    "max_seq_length": 128, "logging_steps": 5, "save_steps": 0, "seed": 42,
}
COMPARED = 10


def demo(
    ctx: typer.Context,
    file: Optional[Path] = typer.Option(None, "--file", help=f"Dataset to use (default: {SAMPLE.relative_to(SAMPLE.parents[1])})."),
    heldout: Optional[Path] = typer.Option(None, "--heldout", help="Rows not trained on, scored apart (default with the "
                                           f"sample: {SAMPLE_HELDOUT.relative_to(SAMPLE.parents[1])})."),
    model: str = typer.Option(PRETRAINED_MODEL_ID, "--model", help="Model to fine-tune."),
    steps: int = typer.Option(DEMO_HYPERPARAMETERS["max_steps"], min=1, help="Optimizer steps to train (the demo stops there)."),
    compare: int = typer.Option(COMPARED, min=0, max=100, help="Dataset rows whose answers are shown before and after."),
    prompt: str = typer.Option(SAMPLE_PROMPT, help="What to ask the fine-tuned model at the end."),
    max_new_tokens: int = typer.Option(64, min=1, max=4096, help="Most tokens of each answer."),
) -> None:
    """Run the guide's workflow: upload, check the model, validate, create the job, watch it, then compare the
    base and the fine-tuned model on the dataset's prompts (and on held-out ones), and generate."""
    st = state(ctx)
    path = file or SAMPLE
    if not path.exists():
        raise CliError(f"no dataset at {path}; pass one with --file", "FILE_NOT_FOUND")
    heldout = heldout or (SAMPLE_HELDOUT if file is None else None)

    st.out.rule("1. Upload the dataset")
    if heldout is None:
        dataset = datasets.upload_file(st, path, "Demo dataset", "Uploaded by finetune demo", tags=["demo"], validation_fraction=0.1,
                                       seed=7, rows=3)
    else:
        dataset = upload_with_heldout(st, path, heldout)
    st.out.print(Text(f"saved dataset {dataset.uid}: {dataset.train_rows} train / {dataset.validation_rows} validation rows", style="green"))

    st.out.rule("2. Choose the model")
    found = models.search_models(st, "llama", limit=5)
    if found.models:
        st.out.print(render.model_table(found.models, "search: llama" + (" (offline)" if found.offline else "")))
    if found.offline:
        st.out.print(models.offline_note(found))
    spec = BUILTIN_MODELS.get(model)
    if spec is not None and spec.pretrain is not None:
        st.out.print(Text(f"{model} is pretrained once per machine ({spec.pretrain.steps} steps on a generated corpus, "
                          "about a minute; the services' log shows its progress), then cached", style="dim"))
    report = models.check_model(st, model, batch_size=DEMO_HYPERPARAMETERS["batch_size"], seq_len=DEMO_HYPERPARAMETERS["max_seq_length"],
                                lora_r=DEMO_HYPERPARAMETERS["lora_r"])
    render.availability(st.out, report)
    if not report.can_fine_tune:
        raise CliError(f"{model} cannot be fine-tuned here (see the problems above)", "MODEL_NOT_USABLE", EXIT_FAILED)

    st.out.rule("3. Validate the configuration")
    values = {**DEMO_HYPERPARAMETERS, "max_steps": steps, "eval_steps": steps}
    hp = configs.hyperparameters(base=values)
    checked = configs.validate(st, hp, model=model, dataset=dataset.uid)
    configs.show_validation(st, checked)
    if not checked.valid:
        raise CliError("the demo's configuration was refused (see the errors above)", "INVALID_CONFIGURATION", EXIT_FAILED)
    st.out.print(Text("the same job from the command line:", style="bold"))
    st.out.print(Text(reuse_command(model, dataset.uid, values), style="cyan"), soft_wrap=True)

    st.out.rule("4. Create the job")
    job = jobs.create_job(st, model, dataset.uid, hp, name="Customer Support Fine-tuning", description="Teach the built-in model the support answers",
                          tags=["customer-support", "demo"], save_model=True,
                          model_name=f"customer-support-demo-{time.strftime('%Y%m%d-%H%M%S')}")  # a name names one model: one per run
    st.out.print(Text(f"created job {job.job_uid} ({jobs.state_name(job.state)})", style="green"), soft_wrap=True)

    st.out.rule("5. Watch the training")
    result = follow(st, job.job_uid)
    print_outcome(st, job.job_uid, result)
    if not result.completed:
        raise typer.Exit(EXIT_FAILED)

    section = 6
    if compare:
        st.out.rule(f"{section}. Before and after fine-tuning")
        compare_answers(st, job.job_uid, dataset_rows(st, path, compare), max_new_tokens, "trained prompts")
        section += 1
    if heldout is not None and compare:
        st.out.rule(f"{section}. Held-out prompts (not trained on)")
        score_heldout(st, job.job_uid, dataset_rows(st, heldout, 100), max_new_tokens)
        section += 1

    st.out.rule(f"{section}. Ask the fine-tuned model")
    st.out.print(Text(f"prompt: {prompt}", style="bold"))
    stream_generation(st, job.job_uid, prompt, max_new_tokens=max_new_tokens, temperature=0.0)
    st.out.print(Text(f"done: try `finetune generate {job.job_uid} \"<your question>\"`", style="dim"), soft_wrap=True)


def upload_with_heldout(st: State, path: Path, heldout: Path):
    """Saves `path` as the training split and `heldout` as the validation split (previewing and checking both):
    the held-out rows give the run its validation loss and are never trained on."""
    for file in (path, heldout):
        datasets.readable_file(file)
        preview = datasets.preview_file(st, file, 3)
        render.preview(st.out, preview)
        if preview.validation_errors:
            raise CliError(f"{file.name} cannot be saved (see the validation errors above)", "VALIDATION_FAILED", EXIT_FAILED)
    metadata = dpb.UploadMetadata(filename=path.name, validation_filename=heldout.name, display_name="Customer Support Intents",
                                  description="Ten support questions, each with its one answer; held-out phrasings as validation",
                                  tags=["customer-support", "demo"])

    def requests():
        yield from datasets.stream_file(path, dpb.UploadDatasetRequest, metadata)
        with heldout.open("rb") as f:
            while chunk := f.read(datasets.CHUNK_BYTES):
                yield dpb.UploadDatasetRequest(validation_chunk=chunk)

    return st.stub("dataset").UploadDataset(requests())


def reuse_command(model: str, dataset_uid: str, values: dict) -> str:
    """The `finetune jobs create` line that submits this configuration again."""
    sets = " ".join(f"--set {key}={_setting(value)}" for key, value in values.items())
    return f"finetune jobs create --model {shlex.quote(model)} --dataset {dataset_uid} {sets} --watch"


def _setting(value) -> str:
    if isinstance(value, list):
        return ",".join(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def dataset_rows(st: State, path: Path, limit: int) -> list[dict]:
    """The first `limit` rows of a file as the dataset service reads it (any format it accepts), as {"input", "output"}."""
    preview = datasets.preview_file(st, path, min(limit, 100))
    rows = [MessageToDict(row) for row in preview.data][:limit]
    return [{"input": str(r.get("input", "")), "output": str(r.get("output", ""))} for r in rows]


def answer(st: State, job: str, prompt: str, max_new_tokens: int, base_model: bool = False) -> str:
    """The greedy answer of the job's fine-tuned model (or, with base_model, of the model it started from)."""
    request = tpb.GenerateRequest(name=f"runs/{job}", prompt=prompt, max_new_tokens=max_new_tokens, temperature=0.0,
                                  base_model=base_model)
    return "".join(piece.text for piece in st.run_stub(job).Generate(request))


def compare_answers(st: State, job: str, rows: list[dict], max_new_tokens: int, label: str) -> tuple[int, int]:
    """Asks the base and the fine-tuned model each row's input; prints them side by side with the expected
    output and the exact-match counts; returns (fine-tuned matches, base matches)."""
    table = Table(title_justify="left", show_lines=True)
    for name in ("prompt", "expected", "base model", "fine-tuned", "="):
        table.add_column(name, overflow="fold")
    tuned_hits = base_hits = 0
    for row in rows:
        base = answer(st, job, row["input"], max_new_tokens, base_model=True)
        tuned = answer(st, job, row["input"], max_new_tokens)
        base_hits += base == row["output"]
        tuned_hits += tuned == row["output"]
        table.add_row(*render.plain(row["input"], row["output"], printable(base), printable(tuned)),
                      Text("✓", style="green") if tuned == row["output"] else Text("✗", style="red"))
    st.out.print(table)
    st.out.print(Text(f"exact matches on {len(rows)} {label}: fine-tuned {tuned_hits}/{len(rows)}, "
                      f"base model {base_hits}/{len(rows)}", style="bold"))
    return tuned_hits, base_hits


def score_heldout(st: State, job: str, rows: list[dict], max_new_tokens: int) -> int:
    """The fine-tuned model's exact matches on rows it never saw; prints the count and each miss."""
    misses = []
    for row in rows:
        got = answer(st, job, row["input"], max_new_tokens)
        if got != row["output"]:
            misses.append((row, got))
    hits = len(rows) - len(misses)
    st.out.print(Text(f"exact matches on {len(rows)} held-out prompts: fine-tuned {hits}/{len(rows)}", style="bold"))
    for row, got in misses:
        st.out.print(Text.assemble("  ✗ ", (row["input"], "bold"), f" → {printable(got)} (expected: {row['output']})"), soft_wrap=True)
    return hits


def printable(text: str) -> str:
    """Control characters shown escaped, so a base model's byte noise cannot move the cursor."""
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)
