"""Length histograms: the bucket scheme, exact counts over any bound, and the histograms a preview and a saved
dataset carry (over every row, not only the previewed ones)."""

from __future__ import annotations

import numpy as np
import pytest

from finetune.dataset.v1 import dataset_service_pb2 as pb, dataset_service_pb2_grpc
from services.dataset.histograms import bucket_bounds, histogram
from services.dataset.server import build_server
from services.dataset.validation import to_preview_dict, validate
from tests.dataset.test_service import preview_stream, upload_stream
from tests.dataset.test_validation import table_of
from tests.grpc_harness import running


def buckets(h: dict) -> list[tuple[int, int, int]]:
    """(low, high, count) of each bucket, both ends included."""
    lows = [h["lower_bound"]] + [u + 1 for u in h["upper_bounds"][:-1]]
    return list(zip(lows, h["upper_bounds"], h["counts"]))


def over(h: dict, limit: int) -> int:
    """Values over `limit` as the dashboard counts them: the buckets whose lowest value is above it."""
    return sum(count for low, _, count in buckets(h) if low > limit)


def test_bounds_are_every_integer_to_eight_then_four_per_doubling():
    assert bucket_bounds(0).tolist() == [0] and bucket_bounds(9).tolist() == list(range(9)) + [10]
    assert bucket_bounds(33).tolist()[8:] == [8, 10, 12, 14, 16, 20, 24, 28, 32, 40]
    common = {16, 32, 64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 8192, 32768, 131072}
    assert common <= set(bucket_bounds(131072).tolist())


def test_every_value_lands_in_its_bucket_and_counts_over_a_bound_are_exact():
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.integers(0, 40, 500), rng.lognormal(5, 1.2, 2000).astype(np.int64)])
    h = histogram(values)
    assert sum(h["counts"]) == len(values)
    for low, high, count in buckets(h):
        assert low <= high and count == int(((values >= low) & (values <= high)).sum())
    for limit in [b for b in h["upper_bounds"]] + [0, 7, 8, 512]:
        assert over(h, limit) == int((values > limit).sum()), limit


def test_empty_buckets_at_the_ends_are_left_out_but_not_in_between():
    h = histogram(np.array([100, 100, 1000]))
    assert buckets(h)[0] == (97, 112, 2) and buckets(h)[-1] == (897, 1024, 1)
    assert all(c == 0 for c in h["counts"][1:-1])
    assert histogram(np.array([0, 0])) == {"lower_bound": 0, "upper_bounds": [0], "counts": [2]}
    assert histogram(np.zeros(0, dtype=np.int64)) == {"lower_bound": 0, "upper_bounds": [], "counts": []}


def test_preview_histograms_cover_every_row_and_estimate_tokens_per_row():
    inputs = ["x" * n for n in range(1, 301)]  # 1..300 characters: 1..75 tokens
    outputs = ["y" * 40] * 300  # 10 tokens each
    body = to_preview_dict(validate(table_of({"input": inputs, "output": outputs}), preview_rows=2))
    assert len(body["data"]) == 2
    assert body["statistics"] == {"total_rows": 300, "total_columns": 2, "has_required_columns": True}
    chars = body["column_stats"]["input"]["chars_histogram"]
    assert sum(chars["counts"]) == 300 and chars["lower_bound"] == 1 and chars["upper_bounds"][-1] == 320
    tokens = body["row_tokens_est_histogram"]
    assert sum(tokens["counts"]) == 300 and tokens["lower_bound"] == 11
    estimates = np.array([-(-n // 4) + 10 for n in range(1, 301)])
    assert over(tokens, 64) == int((estimates > 64).sum()) == 4 * 21  # inputs of 217..300 characters


def test_no_token_histogram_without_both_columns():
    body = to_preview_dict(validate(table_of({"input": ["a", "b"]})))
    assert body["row_tokens_est_histogram"]["counts"] == []
    assert sum(body["column_stats"]["input"]["chars_histogram"]["counts"]) == 2


@pytest.fixture
def settings(make_settings, database_url):
    return make_settings("dataset", {}, database_url=database_url)


async def test_preview_and_saved_dataset_carry_the_histograms(settings):
    data = ("input,output\n" + "".join(f"{'q' * (i % 50 + 1)},{'a' * 8}\n" for i in range(200))).encode()
    async with running(build_server, settings) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        preview = await stub.PreviewDataset(preview_stream(data))
        saved = await stub.UploadDataset(upload_stream(data, display_name="h", validation_fraction=0.1))
        got = await stub.GetDataset(pb.GetDatasetRequest(name=saved.name))
    for stats in (preview.statistics, got.statistics):
        tokens = stats.row_tokens_est_histogram
        assert sum(tokens.counts) == 200 and tokens.lower_bound == 3 and tokens.upper_bounds[-1] == 16
        by_name = {c.name: c for c in stats.column_stats}
        assert sum(by_name["input"].chars_histogram.counts) == 200
        assert list(by_name["output"].chars_histogram.upper_bounds) == [8]


async def test_preview_issues_carry_their_row_count(settings):
    data = ("input,output\n" + "".join(f"q{i},{'' if i % 3 == 0 else 'a'}\n" for i in range(90))).encode()
    async with running(build_server, settings) as channel:
        preview = await dataset_service_pb2_grpc.DatasetServiceStub(channel).PreviewDataset(preview_stream(data))
    empty = next(i for i in preview.issues if i.code == "EMPTY_ROWS")
    assert empty.count == 30 and list(empty.rows)[:3] == [1, 4, 7] and len(empty.rows) == 20
