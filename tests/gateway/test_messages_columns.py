"""to_json's fast path for long repeated number fields writes exactly what json_format writes."""

from __future__ import annotations

import math
import random

from google.protobuf import json_format

from finetune.trainer.v1 import run_pb2, trainer_service_pb2 as pb
from gateway.messages import LONG_REPEATED, to_json


def reference(message) -> dict:
    return json_format.MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True,
                                     unquote_int64_if_possible=True)


def test_long_columns_convert_exactly_as_json_format_does():
    rng = random.Random(7)
    n = LONG_REPEATED * 3
    doubles = [rng.uniform(-1e6, 1e6) for _ in range(n)] + [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-300]
    metrics = pb.RunMetrics(name="runs/x/metrics", last_sequence=2**60)
    metrics.steps.steps.extend([*range(n), 2**53 + 1, -(2**60), 2**63 - 1])
    metrics.steps.train_losses.extend(doubles)
    metrics.evaluations.steps.extend(range(3))  # short: the usual path
    metrics.notices.add(sequence=1, log=run_pb2.LogLine(level="info", message="hi"))
    metrics.latest_resources.cpu_percent = 12.5
    assert to_json(metrics) == reference(metrics)
    assert list(metrics.steps.train_losses)[:3] == doubles[:3]  # the message itself is left as it was


def test_messages_without_long_columns_take_the_usual_path():
    metrics = pb.RunMetrics(name="runs/x/metrics")
    metrics.steps.steps.extend(range(10))
    assert to_json(metrics) == reference(metrics)
