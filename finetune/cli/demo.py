"""`finetune demo`: the guide's workflow end to end on the sample dataset and the tiny built-in model."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.text import Text

from finetune.cli import configs, datasets, jobs, models, render
from finetune.cli.context import EXIT_FAILED, CliError, state
from finetune.cli.training import follow, print_outcome, stream_generation
from services.catalog.builtin_models import TINY_MODEL_ID, is_builtin

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "customer_support.csv"
SAMPLE_PROMPT = "How do I reset my password?"


def demo(
    ctx: typer.Context,
    file: Optional[Path] = typer.Option(None, "--file", help=f"Dataset to use (default: {SAMPLE.relative_to(SAMPLE.parents[1])})."),
    model: str = typer.Option(TINY_MODEL_ID, "--model", help="Model to fine-tune."),
    steps: int = typer.Option(12, min=1, help="Optimizer steps to train (the demo stops there)."),
    prompt: str = typer.Option(SAMPLE_PROMPT, help="What to ask the fine-tuned model at the end."),
    max_new_tokens: int = typer.Option(48, min=1, max=4096, help="Most tokens of the sample answer."),
) -> None:
    """Run the guide's workflow: upload, check the model, validate, create the job, watch it, generate."""
    st = state(ctx)
    path = file or SAMPLE
    if not path.exists():
        raise CliError(f"no dataset at {path}; pass one with --file", "FILE_NOT_FOUND")

    st.out.rule("1. Upload the dataset")
    dataset = datasets.upload_file(st, path, "Customer Support Dataset", "Q&A pairs for customer support fine-tuning",
                                   tags=["customer-support", "demo"], validation_fraction=0.1, seed=7, rows=3)
    st.out.print(Text(f"saved dataset {dataset.uid}: {dataset.train_rows} train / {dataset.validation_rows} validation rows", style="green"))

    st.out.rule("2. Choose the model")
    found = models.search_models(st, "llama", limit=5)
    if found.models:
        st.out.print(render.model_table(found.models, "search: llama" + (" (offline)" if found.offline else "")))
    if found.offline:
        st.out.print(models.offline_note(found))
    report = models.check_model(st, model, batch_size=8, seq_len=128, lora_r=8)
    render.availability(st.out, report)
    if not report.can_fine_tune:
        raise CliError(f"{model} cannot be fine-tuned here (see the problems above)", "MODEL_NOT_USABLE", EXIT_FAILED)

    st.out.rule("3. Validate the configuration")
    hp = configs.hyperparameters(base={
        "learning_rate": 5e-4, "batch_size": 8, "epochs": 5, "max_steps": steps, "warmup_steps": 1, "lora_r": 8, "lora_alpha": 16,
        "max_seq_length": 128, "logging_steps": 1, "eval_steps": steps, "save_steps": 0,
    })
    checked = configs.validate(st, hp, model=model, dataset=dataset.uid)
    configs.show_validation(st, checked)
    if not checked.valid:
        raise CliError("the demo's configuration was refused (see the errors above)", "INVALID_CONFIGURATION", EXIT_FAILED)

    st.out.rule("4. Create the job")
    job = jobs.create_job(st, model, dataset.uid, hp, name="Customer Support Fine-tuning", description="Fine-tune the tiny model for customer support",
                          tags=["customer-support", "demo"], save_model=True, model_name="customer-support-demo")
    st.out.print(Text(f"created job {job.job_uid} ({jobs.state_name(job.state)})", style="green"), soft_wrap=True)

    st.out.rule("5. Watch the training")
    result = follow(st, job.job_uid)
    print_outcome(st, job.job_uid, result)
    if not result.completed:
        raise typer.Exit(EXIT_FAILED)

    st.out.rule("6. Ask the fine-tuned model")
    st.out.print(Text(f"prompt: {prompt}", style="bold"))
    stream_generation(st, job.job_uid, prompt, max_new_tokens=max_new_tokens, temperature=0.0)
    if is_builtin(model):
        st.out.print(Text("(the built-in model starts from random weights, so a few steps cannot make its answer readable; "
                          "the pipeline is the point: try --model TinyLlama/TinyLlama-1.1B-Chat-v1.0 where the hub is reachable)", style="dim"))
    st.out.print(Text(f"done: try `finetune generate {job.job_uid} \"<your question>\"`", style="dim"), soft_wrap=True)
