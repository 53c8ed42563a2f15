"""`finetune ensembles ...`: train members of one configuration with different seeds, ask them as one model
(majority vote), evaluate each member and the ensemble on the validation split."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from finetune.cli import configs
from finetune.cli.context import state
from finetune.jobs.v1 import ensemble_pb2, job_pb2, jobs_service_pb2 as pb

app = typer.Typer(help="Ensembles: one configuration trained with several seeds, answering by majority vote.", no_args_is_help=True)


def _name(ensemble: str) -> str:
    return ensemble if ensemble.startswith("ensembles/") else f"ensembles/{ensemble}"


def _show(st, e: ensemble_pb2.Ensemble) -> None:
    table = Table("member", "seed", "learning rate", "state", "validation loss", title=f"{e.display_name} ({e.name}): {e.state}")
    for m in e.members:
        loss = f"{m.final_validation_loss:.4f}" if m.HasField("final_validation_loss") else "-"
        table.add_row(m.job, str(m.seed), f"{m.learning_rate:g}", job_pb2.JobState.Name(m.state).removeprefix("JOB_STATE_").lower(), loss)
    st.out.print(table)
    st.out.print(f"answers by {e.rule}")


@app.command()
def create(
    ctx: typer.Context,
    model: str = typer.Option(..., "--model", "-m", help="Model id, e.g. finetune-builtin/tiny-llama-3m."),
    dataset: str = typer.Option(..., "--dataset", "-d", help="Dataset uid (with a validation split, to evaluate)."),
    size: int = typer.Option(3, min=2, max=8, help="Members to train."),
    spread: float = typer.Option(0.0, min=0, max=10, help="Spread the members' learning rates from lr/(1+s) to lr*(1+s)."),
    set_: Optional[List[str]] = typer.Option(None, "--set", "-s", help=configs.SET_HELP),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="JSON file with the hyperparameters."),
    name: str = typer.Option("", "--name", "-n", help="The ensemble's name."),
) -> None:
    """Create an ensemble: its members are queued at once."""
    st = state(ctx)
    configuration = job_pb2.JobConfiguration(model=job_pb2.ResourceReference(uid=model), dataset=job_pb2.ResourceReference(uid=dataset),
                                             hyperparameters=configs.hyperparameters(set_, file))
    made = st.stub("jobs").CreateEnsemble(pb.CreateEnsembleRequest(ensemble=ensemble_pb2.Ensemble(
        display_name=name, configuration=configuration, size=size, learning_rate_spread=spread)))
    st.emit_json(made) if st.json else _show(st, made)


@app.command()
def show(ctx: typer.Context, ensemble: str = typer.Argument(..., help="Ensemble id.")) -> None:
    """An ensemble's members, their states and validation losses."""
    st = state(ctx)
    got = st.stub("jobs").GetEnsemble(pb.GetEnsembleRequest(name=_name(ensemble)))
    st.emit_json(got) if st.json else _show(st, got)


@app.command()
def ask(ctx: typer.Context, ensemble: str = typer.Argument(..., help="Ensemble id."), prompt: str = typer.Argument(...),
        max_new_tokens: int = typer.Option(64, min=1, max=4096)) -> None:
    """The ensemble's answer (majority vote), with every member's."""
    st = state(ctx)
    answer = st.stub("jobs").GenerateEnsemble(pb.GenerateEnsembleRequest(name=_name(ensemble), prompt=prompt, max_new_tokens=max_new_tokens))
    if st.json:
        st.emit_json(answer)
        return
    st.out.print(f"{answer.text}\n({answer.votes} of {len(answer.answers)} votes; {answer.chosen_job})")
    for a in answer.answers:
        st.out.print(f"  {a.job}: {a.text}")


@app.command()
def evaluate(ctx: typer.Context, ensemble: str = typer.Argument(..., help="Ensemble id."),
             max_rows: int = typer.Option(16, min=1, max=200, help="Validation rows to answer.")) -> None:
    """Each member and the ensemble on the validation split (exact answers)."""
    st = state(ctx)
    result = st.stub("jobs").EvaluateEnsemble(pb.EvaluateEnsembleRequest(name=_name(ensemble), max_rows=max_rows), timeout=1800)
    if st.json:
        st.emit_json(result)
        return
    table = Table("who", "exact answers", "validation loss", title=f"{result.name} on {result.rows} validation rows")
    for m in result.members:
        table.add_row(m.job, f"{m.exact_match:.0%}", f"{m.final_validation_loss:.4f}" if m.HasField("final_validation_loss") else "-")
    table.add_row("ensemble", f"{result.ensemble_exact_match:.0%}", "")
    st.out.print(table)
