"""The Configure stage in the browser (manual mode): every guide parameter with its default, the guide's warning
and an impossible value each shown next to its field as you type, the configuration UID, save, "Load best
configuration" (a missing best said plainly), and "Continue" carrying the configuration to Create job."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.web.conftest import assert_accessible
from tests.web.helpers import client, upload_dataset

TINY = "finetune-builtin/tiny-llama-3m"
UID = re.compile(r"^[0-9a-z]{26}(-[0-9a-z]+)?$")


def js_text(value) -> str:
    """A value as the page's inputs write it (JavaScript's String: 32.0 is "32")."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def with_workflow(page, **workflow) -> None:
    """Start the tab with the workflow a person would have picked on Datasets and Models."""
    page.add_init_script(f"sessionStorage.setItem('finetune.workflow', {json.dumps(json.dumps(workflow))})")


def test_manual_mode_shows_the_guides_advice_next_to_each_field_and_saves(page, suite, shots):
    dataset = upload_dataset(suite, "Configure rows")  # 24 rows: the guide's "small dataset" band
    with client(suite) as c:
        defaults = c.post("/v1/configurations:validate", json={"hyperparameters": {}}).json()["normalized"]
    with_workflow(page, model={"uid": TINY, "name": "Tiny Llama 3M (built-in)"})
    page.goto("/configure")

    # Every guide parameter is there, with the server's default.
    for label, key in [("Learning rate", "learning_rate"), ("Batch size", "batch_size"), ("Epochs", "epochs"),
                       ("Warmup steps", "warmup_steps"), ("Weight decay", "weight_decay"), ("LoRA rank (r)", "lora_r"),
                       ("LoRA alpha", "lora_alpha"), ("LoRA dropout", "lora_dropout"),
                       ("Gradient accumulation steps", "gradient_accumulation_steps"), ("Max gradient norm", "max_grad_norm"),
                       ("Optimizer", "optimizer"), ("Scheduler", "scheduler"), ("Save steps", "save_steps"),
                       ("Max sequence length", "max_seq_length"), ("Eval steps", "eval_steps"), ("Seed", "seed"),
                       ("Early stopping patience", "early_stopping_patience")]:
        expect(page.get_by_label(label, exact=True)).to_have_value(js_text(defaults[key]))
    expect(page.get_by_label("Target modules")).to_have_value(", ".join(defaults["target_modules"]))
    expect(page.get_by_label("Max steps")).to_have_value("")
    uid = page.get_by_test_id("configuration-uid")
    expect(uid).to_have_text(defaults["uid"])
    # The model's own linear modules are offered next to the target modules.
    expect(page.get_by_label("Target modules")).to_have_accessible_description(re.compile(r"tiny-llama-3m has: q_proj, k_proj"))

    # A learning rate outside the guide's band for a model under 1B: the warning is the field's description.
    lr = page.get_by_label("Learning rate", exact=True)
    lr.fill("0.01")
    expect(lr).to_have_accessible_description(re.compile(r"0\.01 is above the guide's 0\.0001 to 0\.0005 for small models"))
    expect(page.get_by_test_id("check-status")).to_contain_text("1 warning")
    shots(page, "warning")
    assert_accessible(page)
    page.get_by_role("button", name="Use 0.0005").click()
    expect(lr).to_have_value("0.0005")
    expect(lr).not_to_have_accessible_description(re.compile("above the guide's"))

    # The dataset steers the epochs: 24 rows want 5 to 10.
    page.get_by_label("Dataset").select_option(dataset["uid"])
    epochs = page.get_by_label("Epochs", exact=True)
    expect(epochs).to_have_accessible_description(re.compile(r"outside the guide's 5 to 10 for small datasets"))

    # An impossible value: its error next to it, and nothing can be saved.
    batch = page.get_by_label("Batch size", exact=True)
    batch.fill("0")
    expect(batch).to_have_accessible_description(re.compile(r"batch_size must be in \[1, 4096\], got 0"))
    expect(batch).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("check-status")).to_have_text("1 impossible value")
    expect(page.get_by_role("button", name="Save configuration")).to_be_disabled()
    shots(page, "error")
    assert_accessible(page)

    batch.fill("4")
    epochs.fill("5")
    page.get_by_label("Max steps").fill("6")
    expect(page.get_by_test_id("check-status")).to_have_text("Every value is possible")
    expect(uid).not_to_have_text(defaults["uid"])
    shown = uid.inner_text()
    assert UID.match(shown), shown
    page.get_by_label("Configuration name").fill("Small and careful")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.get_by_test_id("saved-uid")).to_have_text(shown)
    with client(suite) as c:
        saved = c.get(f"/v1/configurations/{shown}").json()
    assert saved["display_name"] == "Small and careful" and saved["mode"] == "CONFIGURATION_MODE_MANUAL"
    assert saved["hyperparameters"]["learning_rate"] == 0.0005 and saved["hyperparameters"]["max_steps"] == 6
    shots(page, "saved")

    # Load best: the page says plainly when there is none yet, and loads it when there is.
    with client(suite) as c:
        best = c.get("/v1/configurations:best", params={"mode": "manual"})
    page.get_by_role("button", name="Load best configuration").click()
    if best.status_code == 404:
        alert = page.get_by_role("alert").filter(has_text="No best manual configuration yet")
        expect(alert).to_contain_text(best.json()["error"]["message"])
        shots(page, "no-best")
    else:
        expect(page.get_by_role("status").filter(has_text="Loaded configuration")).to_contain_text(best.json()["uid"])
    assert_accessible(page)

    # Continue: the configuration goes on to Create job with its saved UID.
    page.get_by_role("button", name="Reset to defaults").click()
    expect(lr).to_have_value(js_text(defaults["learning_rate"]))
    lr.fill("0.0003")
    page.get_by_role("button", name="Continue to Create job").click()
    expect(page).to_have_url(re.compile(r"/jobs/new$"))
    workflow = json.loads(page.evaluate("sessionStorage.getItem('finetune.workflow')"))
    assert workflow["configuration"]["hyperparameters"]["learning_rate"] == 0.0003
    assert UID.match(workflow["configuration"]["uid"])
    assert workflow["dataset"]["uid"] == dataset["uid"]


def test_a_saved_configuration_opens_by_its_uid(page, suite):
    with client(suite) as c:
        saved = c.post("/v1/configurations", json={"mode": "CONFIGURATION_MODE_MANUAL",
                                                   "hyperparameters": {"learning_rate": 0.0004, "lora_r": 8, "lora_alpha": 16}}).json()
    page.goto(f"/configure?configuration={saved['uid']}")
    expect(page.get_by_label("Learning rate", exact=True)).to_have_value("0.0004")
    expect(page.get_by_label("LoRA rank (r)")).to_have_value("8")
    expect(page.get_by_test_id("configuration-uid")).to_have_text(saved["uid"])
    page.goto("/configure?configuration=nope")
    expect(page.get_by_role("alert")).to_contain_text("Configuration nope could not be loaded")
