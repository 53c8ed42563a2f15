"""The `finetune` command tree: `finetune datasets|models|configs|jobs|ensembles|alerts ...`, `watch`, `generate`, `demo`."""

from __future__ import annotations

from typing import Optional

import typer

from finetune.channels import Endpoints, address_env
from finetune.cli import alerts, configs, datasets, demo, ensembles, jobs, models, training
from finetune.cli.context import FinetuneGroup, State

app = typer.Typer(
    cls=FinetuneGroup,
    help="Fine-tune language models with LoRA: datasets, models, configurations, jobs, live training, generation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(datasets.app, name="datasets")
app.add_typer(models.app, name="models")
app.add_typer(configs.app, name="configs")
app.add_typer(jobs.app, name="jobs")
app.add_typer(ensembles.app, name="ensembles")
app.add_typer(alerts.app, name="alerts")
app.command()(training.watch)
app.command()(training.generate)
app.command()(demo.demo)


def _address(service: str):
    return typer.Option(None, f"--{service}-address", metavar="HOST:PORT", help=f"The {service} service (env {address_env(service)}).", show_default=False)


@app.callback()
def root(
    ctx: typer.Context,
    dataset_address: Optional[str] = _address("dataset"),
    catalog_address: Optional[str] = _address("catalog"),
    jobs_address: Optional[str] = _address("jobs"),
    trainer_address: Optional[str] = _address("trainer"),
    token: Optional[str] = typer.Option(None, "--token", envvar="FINETUNE_API_TOKEN", help="API token, sent as 'authorization: Bearer'.", show_default=False),
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Addresses default to 127.0.0.1:50051-50054 (`make run` starts the services there)."""
    endpoints = Endpoints.from_env(token=token, dataset=dataset_address, catalog=catalog_address, jobs=jobs_address, trainer=trainer_address)
    ctx.obj = State(endpoints, json=json_output)


if __name__ == "__main__":
    app()
