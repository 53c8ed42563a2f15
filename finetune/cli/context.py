"""What every command shares: the clients, the consoles, `--json`, and the one place failures become one line."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

import typer
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from rich.console import Console
from typer.core import TyperGroup

from finetune.channels import ApiNotBuilt, Clients, Endpoints, ServiceError

EXIT_FAILED = 1  # the services said no (or could not be reached)
EXIT_USAGE = 2  # the command line or a local file is wrong


class CliError(Exception):
    """A failure the CLI detects itself; printed as `error: <message> (<REASON>)`."""

    def __init__(self, message: str, reason: str, exit_code: int = EXIT_USAGE):
        super().__init__(message)
        self.message, self.reason, self.exit_code = message, reason, exit_code


@dataclass
class State:
    """Per-invocation state, stored on the root click context."""

    endpoints: Endpoints
    json: bool = False
    out: Console = field(default_factory=lambda: Console(highlight=False, soft_wrap=False))
    _clients: Clients | None = None

    @property
    def clients(self) -> Clients:
        if self._clients is None:
            self._clients = Clients(self.endpoints)
        return self._clients

    def stub(self, service: str):
        return self.clients.stub(service)

    def run_stub(self, run_id: str):
        """The trainer stub for a job's run: at the trainer the jobs service says holds the job (several trainers
        may share one jobs service), else the configured trainer (a run started on a trainer directly)."""
        return self.clients.stub("trainer", self.trainer_of(run_id))

    def trainer_of(self, run_id: str) -> str:
        """Where the job `run_id` runs, as the jobs service says; '' when it does not say (no such job, no jobs service)."""
        if not self.clients.has_api("jobs"):
            return ""
        from finetune.jobs.v1 import jobs_service_pb2

        try:
            return self.stub("jobs").GetJob(jobs_service_pb2.GetJobRequest(name=f"jobs/{run_id}")).trainer
        except ServiceError:
            return ""

    def close(self) -> None:
        if self._clients is not None:
            self._clients.close()
            self._clients = None

    def emit_json(self, value, lines: bool = False) -> None:
        """Machine-readable output for `--json`: one JSON document on stdout (`lines`: one compact line,
        for streams read line by line)."""
        if isinstance(value, Message):
            value = to_dict(value)
        sys.stdout.write(json.dumps(value, indent=None if lines else 2, default=str) + "\n")
        sys.stdout.flush()


def to_dict(message: Message) -> dict:
    return MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


def state(ctx: typer.Context) -> State:
    """The invocation's State (made by the root callback; from the environment when a command runs alone)."""
    obj = ctx.find_object(State)
    if obj is None:
        obj = ctx.obj = State(Endpoints.from_env())
    return obj


def report(message: str, reason: str) -> None:
    typer.echo(f"error: {message} ({reason})", err=True)


class FinetuneGroup(TyperGroup):
    """The root group: every failure below it ends as one `error:` line and an exit code, never a traceback."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except ServiceError as exc:
            report(exc.message, exc.reason)
            raise typer.Exit(EXIT_FAILED) from None
        except CliError as exc:
            report(exc.message, exc.reason)
            raise typer.Exit(exc.exit_code) from None
        except ApiNotBuilt as exc:
            report(f"{exc}; this command needs it", "API_NOT_BUILT")
            raise typer.Exit(EXIT_USAGE) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
        finally:
            obj = ctx.find_object(State)
            if obj is not None:
                obj.close()
