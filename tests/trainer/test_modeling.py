"""Device choice: the CPU path needs no CUDA, and asking for a GPU that is not there is a clear error."""

from __future__ import annotations

import contextlib

import pytest
import torch

from services.common.errors import FailedPrecondition
from services.trainer.modeling import autocast_for, select_device


def test_cpu_runs_in_fp32_without_autocast():
    assert select_device("cpu") == torch.device("cpu")
    assert isinstance(autocast_for(torch.device("cpu")), contextlib.nullcontext)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
def test_gpu_request_without_cuda():
    assert select_device("auto") == torch.device("cpu")
    with pytest.raises(FailedPrecondition) as err:
        select_device("cuda")
    assert err.value.reason == "CUDA_UNAVAILABLE"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_uses_bf16_autocast():
    assert select_device("auto", 0) == torch.device("cuda", 0)
    with autocast_for(torch.device("cuda", 0)):
        assert torch.ones(2, 2, device="cuda").matmul(torch.ones(2, 2, device="cuda")).dtype == torch.bfloat16
