"""The model registry end to end, on the whole suite: a job that saves its model under a name registers
`finetune-models/<name>` when it completes (listed under Fine-tuned, checked as its base); the name cannot be
taken twice; `finetune models export` writes a folder that transformers' `pipeline` and `from_pretrained` load
unchanged; a second job fine-tunes the registered model further; Generate answers by the model's name."""

from __future__ import annotations

import json
import subprocess
import sys

import grpc
import httpx
import pytest

from finetune.trainer.v1 import trainer_service_pb2 as tpb, trainer_service_pb2_grpc
from tests.suite import running_suite
from tests.web.helpers import csv_bytes, support_rows, wait_for_job

pytestmark = pytest.mark.slow
NAME = "support-v1"


def job_body(dataset: str, name: str, model: str = "finetune-builtin/tiny-llama-3m", model_name: str = NAME) -> dict:
    return {"name": name, "modelSaving": {"saveModel": True, "modelName": model_name},
            "configuration": {"model": {"uid": model}, "dataset": {"uid": dataset},
                              "hyperparameters": {"learning_rate": 0.002, "batch_size": 4, "epochs": 2, "max_seq_length": 96,
                                                  "logging_steps": 1}}}


def first_loss(client: httpx.Client, job_id: str) -> float:
    return client.get(f"/v1/runs/{job_id}/metrics").json()["steps"]["train_losses"][0]


def test_a_named_model_is_registered_exported_loaded_and_fine_tuned_again(tmp_path):
    (tmp_path / "suite").mkdir()
    with running_suite(tmp_path / "suite", gateway_ports=1) as suite, httpx.Client(base_url=suite.url, timeout=60) as c:
        dataset = c.post("/api/datasets", files={"file": ("d.csv", csv_bytes(support_rows(32)), "text/csv")},
                         data={"name": "support"}).json()["uid"]
        first = c.post("/api/jobs", json=job_body(dataset, "first")).json()["jobUid"]
        taken = c.post("/api/jobs", json=job_body(dataset, "same name"))
        assert taken.status_code == 409 and taken.json()["error"]["reason"] == "MODEL_NAME_TAKEN", taken.text
        assert f"jobs/{first}" in taken.json()["error"]["message"]
        wait_for_job(suite, first, ("JOB_STATE_COMPLETED",))

        listed = c.get("/v1/models", params={"category": "Fine-tuned"}).json()["models"]
        assert [m["id"] for m in listed] == [f"finetune-models/{NAME}"]
        origin = listed[0]["fine_tuned"]
        assert (origin["base_model"], origin["job"], origin["run"]) == ("finetune-builtin/tiny-llama-3m", f"jobs/{first}", f"runs/{first}")
        assert origin["model_dir"].endswith("artifacts/model") and "final_loss" in origin["metrics"]
        check = c.get(f"/v1/models/finetune-models/{NAME}:check").json()
        assert check["found"] and check["locations"] == ["fine_tuned"] and check["can_fine_tune"], check
        again = c.post("/api/jobs", json=job_body(dataset, "after it completed"))
        assert again.status_code == 409 and again.json()["error"]["reason"] == "MODEL_NAME_TAKEN"

        # Export, then load the folder the way the guide's Quick Inference Test and its FastAPI app do.
        out = tmp_path / "exported"
        cli = subprocess.run([sys.executable, "-m", "finetune.cli.main", "models", "export", NAME, str(out)],
                             env=suite.env, capture_output=True, text=True, timeout=120)
        assert cli.returncode == 0, cli.stdout + cli.stderr
        assert (out / "config.json").is_file() and "pipeline(" in cli.stdout
        loaded = subprocess.run([sys.executable, "-c", (
            "import sys; from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline\n"
            f"d = {str(out)!r}\n"
            "m = AutoModelForCausalLM.from_pretrained(d); t = AutoTokenizer.from_pretrained(d)\n"
            "p = pipeline('text-generation', model=d)\n"
            "print(type(p(\"How do I reset my password?\", max_new_tokens=5, do_sample=False)[0]['generated_text']).__name__)")],
            capture_output=True, text=True, timeout=180)
        assert loaded.returncode == 0 and loaded.stdout.strip().endswith("str"), loaded.stderr[-3000:]

        # The int8 export: measured against fp32, smaller, loads again with its loader and answers.
        out8 = tmp_path / "int8"
        cli = subprocess.run([sys.executable, "-m", "finetune.cli.main", "--json", "models", "export", NAME, str(out8), "--int8"],
                             env=suite.env, capture_output=True, text=True, timeout=300)
        assert cli.returncode == 0, cli.stdout + cli.stderr
        report = json.loads(cli.stdout)["quantization"]
        assert int(report["int8_bytes"]) < int(report["fp32_bytes"]) / 3 and report["quantized_layers"] > 0, report
        assert abs(report["int8_validation_loss"] - report["fp32_validation_loss"]) < 0.5, report
        loaded = subprocess.run([sys.executable, "-c", (
            "from services.trainer.quantize import load_quantized; from services.trainer.generation import generate_text\n"
            f"m, t = load_quantized({str(out8)!r}); print(repr(generate_text(m, t, 'How do I reset my password?', 5)))")],
            capture_output=True, text=True, timeout=180)
        assert loaded.returncode == 0 and loaded.stdout.strip().startswith("'"), loaded.stderr[-3000:]
        again = c.post(f"/v1/runs/{first}:quantize", json={})  # REST too, and again: the folder is written anew
        assert again.status_code == 200 and again.json()["path"] == "model-int8", again.text

        # Generate by the model's name answers as the run's model does.
        with grpc.insecure_channel(f"127.0.0.1:{suite.service_ports['trainer']}") as channel:
            stub = trainer_service_pb2_grpc.TrainerServiceStub(channel)

            def answer(**fields) -> str:
                return "".join(p.text for p in stub.Generate(tpb.GenerateRequest(prompt="How do I reset my password?",
                                                                                   max_new_tokens=12, **fields)))

            assert answer(model=f"finetune-models/{NAME}") == answer(name=f"runs/{first}")

        # Continued fine-tuning: a job on the registered model starts where the first one ended.
        second = c.post("/api/jobs", json=job_body(dataset, "second", model=f"finetune-models/{NAME}", model_name="support-v2"))
        assert second.status_code == 200, second.text
        second_id = second.json()["jobUid"]
        in_use = c.delete(f"/v1/models/finetune-models/{NAME}")
        assert in_use.status_code == 412 and in_use.json()["error"]["reason"] == "MODEL_IN_USE", in_use.text
        assert f"jobs/{second_id}" in in_use.json()["error"]["message"]
        wait_for_job(suite, second_id, ("JOB_STATE_COMPLETED",))
        assert first_loss(c, second_id) < first_loss(c, first) - 0.5  # it did not start from the untrained model
        names = [m["id"] for m in c.get("/v1/models", params={"category": "Fine-tuned"}).json()["models"]]
        assert sorted(names) == ["finetune-models/support-v1", "finetune-models/support-v2"]

        # No job needs it now: deleting it deletes its files on the trainer too (the adapter stays with the run).
        assert c.delete(f"/v1/models/finetune-models/{NAME}").status_code == 200
        paths = [a["path"] for a in c.get(f"/v1/runs/{first}/artifacts").json()["artifacts"]]
        assert not any(p.startswith(("model/", "model-int8/")) for p in paths) and any(p.startswith("adapter/") for p in paths)
        names = [m["id"] for m in c.get("/v1/models", params={"category": "Fine-tuned"}).json()["models"]]
        assert names == ["finetune-models/support-v2"]
