"""The shared hyperparameters: TrainingConfig's names, defaults and errors that name the field and its allowed
range; the one converter to and from the proto message; the target-modules error."""

from __future__ import annotations

import pytest

from finetune.jobs.v1 import jobs_service_pb2
from finetune.trainer.v1 import run_pb2
from services.common import hyperparameters
from services.common.errors import InvalidArgument
from services.common.hyperparameters import SUPPORTED_OPTIMIZERS, TrainingConfig

def test_guide_example_parses():
    config = TrainingConfig.from_dict({
        "learning_rate": 0.0002, "batch_size": 8, "epochs": 3, "warmup_steps": 500, "weight_decay": 0.01,
        "lora_r": 16, "lora_alpha": 32, "lora_dropout": 0.1, "target_modules": ["q_proj", "v_proj"],
        "gradient_accumulation_steps": 4, "max_grad_norm": 1.0, "optimizer": "adamw", "scheduler": "cosine",
        "save_steps": 500, "uid": "00000005k0008000300100002s",
    })
    assert config.batch_size == 8 and config.scheduler == "cosine" and config.lora_alpha == 32.0
    assert config.keep_checkpoints == 3 and config.packing is True and config.max_steps is None
    assert TrainingConfig.from_dict(config.to_dict()) == config


def test_json_numbers_are_coerced():
    config = TrainingConfig.from_dict({"batch_size": 8.0, "learning_rate": 1, "max_steps": None})
    assert config.batch_size == 8 and isinstance(config.batch_size, int) and config.learning_rate == 1.0


@pytest.mark.parametrize(
    ("values", "field", "allowed"),
    [
        ({"learning_rate": 0}, "learning_rate", "(0.0, 1.0]"),
        ({"batch_size": 0}, "batch_size", "[1, 4096]"),
        ({"lora_dropout": 1.0}, "lora_dropout", "[0.0, 1.0)"),
        ({"max_seq_length": 8}, "max_seq_length", "[16, 131072]"),
        ({"max_steps": 0}, "max_steps", "[1, 100000000]"),
        ({"epochs": 2.5}, "epochs", "integers"),
        ({"batch_size": True}, "batch_size", "integers"),
        ({"packing": "yes"}, "packing", "true, false"),
    ],
)
def test_out_of_range_names_field_and_range(values, field, allowed):
    with pytest.raises(InvalidArgument) as err:
        TrainingConfig.from_dict(values)
    assert err.value.reason == "INVALID_TRAINING_CONFIG"
    assert err.value.metadata == {"field": field, "allowed": allowed}
    assert field in err.value.message


def test_unknown_optimizer_lists_supported_ones():
    with pytest.raises(InvalidArgument) as err:
        TrainingConfig.from_dict({"optimizer": "lion"})
    assert all(name in err.value.message for name in SUPPORTED_OPTIMIZERS)


def test_unknown_scheduler_and_unknown_key():
    with pytest.raises(InvalidArgument, match="scheduler must be one of linear, cosine"):
        TrainingConfig.from_dict({"scheduler": "reduce_lr_on_plateau"})
    with pytest.raises(InvalidArgument, match="unknown training parameter.*learning_rte"):
        TrainingConfig.from_dict({"learning_rte": 1e-4})


def test_warmup_steps_win_over_ratio():
    assert TrainingConfig(warmup_steps=5, warmup_ratio=0.5).warmup_for(100) == 5
    assert TrainingConfig(warmup_ratio=0.1).warmup_for(95) == 10
    assert TrainingConfig(warmup_steps=500).warmup_for(20) == 20



def test_one_message_carries_the_values_both_ways_with_the_uid():
    values = {"learning_rate": 3e-4, "lora_r": 8, "target_modules": ["q_proj"], "packing": False, "batch_size": 8.0,
              "lora_alpha": 16, "max_steps": None}
    message = hyperparameters.to_proto(values, uid="0003000300000000800080160m")
    assert (message.batch_size, message.lora_alpha, message.uid) == (8, 16.0, "0003000300000000800080160m")
    assert not message.HasField("max_steps") and message.HasField("packing")
    back, uid = hyperparameters.from_proto(message)
    assert back == {"learning_rate": 3e-4, "lora_r": 8, "target_modules": ["q_proj"], "packing": False, "batch_size": 8,
                    "lora_alpha": 16.0} and uid == "0003000300000000800080160m"
    assert TrainingConfig.from_dict(back).lora_r == 8
    # The jobs API holds the trainer's message itself: what a job says is what the run gets, byte for byte.
    request = jobs_service_pb2.ValidateConfigurationRequest(hyperparameters=message)
    assert run_pb2.Hyperparameters.FromString(request.hyperparameters.SerializeToString()) == message


def test_target_modules_error_names_the_missing_and_the_available():
    assert hyperparameters.target_modules_error(["q_proj"], ["q_proj", "v_proj"]) is None
    assert hyperparameters.target_modules_error(["all-linear"], ["q_proj"]) is None
    assert hyperparameters.target_modules_error(["qq"], []) is None  # unknown: nothing to say
    error = hyperparameters.target_modules_error(["qq", "v_proj"], ["q_proj", "v_proj"])
    assert error.message == "target_modules qq not found in this model; its Linear modules are: q_proj, v_proj (or use 'all-linear')"
    assert error.metadata == {"field": "target_modules", "allowed": "q_proj, v_proj"}
