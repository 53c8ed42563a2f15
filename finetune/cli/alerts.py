"""`finetune alerts test`: send a test alert to the trainer's configured webhooks and show what each answered."""

from __future__ import annotations

import typer
from rich.table import Table

from finetune.cli.context import EXIT_FAILED, state
from finetune.trainer.v1 import trainer_service_pb2 as pb

app = typer.Typer(help="Alert delivery: the webhooks the trainer posts alerts and run endings to.", no_args_is_help=True)


@app.command()
def test(ctx: typer.Context, message: str = typer.Option("", help="The test alert's text.")) -> None:
    """Send a test alert to every configured webhook. Exits 1 when one did not take it."""
    st = state(ctx)
    answer = st.stub("trainer").SendTestAlert(pb.SendTestAlertRequest(message=message))
    if st.json:
        st.emit_json(answer)
    else:
        table = Table("host", "kind", "delivered", "attempts", "status", "error", title="test alert")
        for d in answer.deliveries:
            table.add_row(d.host, d.kind, "yes" if d.delivered else "no", str(d.attempts), str(d.status or "-"), d.error)
        st.out.print(table)
        if answer.dropped:
            st.out.print(f"{answer.dropped} alerts were dropped since the trainer started (the delivery queue was full)")
    if not all(d.delivered for d in answer.deliveries):
        raise typer.Exit(EXIT_FAILED)
