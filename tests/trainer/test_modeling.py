"""Device choice: the CPU path needs no CUDA, and asking for a GPU that is not there is a clear error."""

from __future__ import annotations

import contextlib

import pytest
import torch

from services.common.errors import FailedPrecondition
from services.trainer.modeling import autocast_for, select_device
from tests.trainer.helpers import model_dir, small_config  # noqa: F401 (fixture)


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


def test_lora_dropout_drops_at_the_rate_asked_and_keeps_the_expectation():
    from services.trainer.modeling import LoraDropout

    torch.manual_seed(0)
    x = torch.rand(2000, 500) + 0.5  # no zeros of its own
    dropout = LoraDropout(0.1)
    y = dropout(x)
    kept = y != 0
    rate = 1 - kept.double().mean().item()
    assert abs(rate - 0.1) < 5 * (0.1 * 0.9 / x.numel()) ** 0.5  # within five standard errors
    assert torch.allclose(y[kept], x[kept] * (65536 / (65536 - 6554)))  # 0.1 -> 6554/65536 dropped
    assert abs(y.double().mean().item() / x.double().mean().item() - 1) < 2e-3
    # each of the four 16-bit lanes of a 64-bit draw is used alike (none always or never kept)
    lane_rates = [1 - kept.reshape(-1)[lane::4].double().mean().item() for lane in range(4)]
    assert all(abs(r - 0.1) < 0.01 for r in lane_rates), lane_rates


def test_lora_dropout_masks_the_gradient_too_and_follows_torchs_seed():
    from services.trainer.modeling import LoraDropout

    dropout = LoraDropout(0.3)
    x = torch.randn(64, 33, requires_grad=True)  # an odd element count: the last draw is used in part
    torch.manual_seed(5)
    y = dropout(x)
    y.sum().backward()
    assert torch.equal(x.grad, (y != 0).float() / (1 - dropout.dropped / 65536))
    torch.manual_seed(5)
    assert torch.equal(dropout(x), y)  # the same generator state, the same mask: resume stays exact
    dropout.eval()
    assert dropout(x) is x
    assert LoraDropout(0.0)(x) is x
    with pytest.raises(ValueError):
        LoraDropout(1.0)


def test_apply_lora_uses_the_cheaper_dropout_with_the_configured_rate(model_dir):
    from services.trainer.modeling import LoraDropout, apply_lora, load_base_model

    model = apply_lora(load_base_model(model_dir, torch.device("cpu")), small_config(lora_dropout=0.05))
    dropouts = [d for m in model.modules() if isinstance(getattr(m, "lora_dropout", None), torch.nn.ModuleDict)
                for d in m.lora_dropout.values()]
    assert dropouts and all(isinstance(d, LoraDropout) and d.p == 0.05 for d in dropouts)
