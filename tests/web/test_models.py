"""The Models stage in the browser: hub search with the offline banner and its reason (the suite's catalog is
offline), browse by category and by provider, the collection (add, remove, a bad id named next to its field),
the availability check with its memory estimate against this machine, and "Use this model" into Configure."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.web.conftest import assert_accessible
from tests.web.helpers import client

TINY = "finetune-builtin/tiny-llama-3m"
TINY_NAME = "Tiny Llama 3M (built-in)"


def fmt_bytes(n: int) -> str:
    """web/src/lib/format.ts fmtBytes, to find the page's figure for a REST value."""
    units, i, v = ["B", "KB", "MB", "GB", "TB"], 0, float(n)
    while abs(v) >= 1024 and i < len(units) - 1:
        v, i = v / 1024, i + 1
    return f"{v:.0f} {units[i]}" if v >= 100 or i == 0 else f"{v:.1f} {units[i]}"


def test_search_offline_check_the_builtin_model_and_use_it(page, suite, shots):
    with client(suite) as c:
        check = c.get(f"/v1/models/{TINY}:check", params={"batch_size": 8, "seq_len": 512, "lora_r": 16}).json()
        machine = c.get("/v1/resources:current").json()
    page.goto("/models")
    page.get_by_label("Search models").fill("tiny")
    banner = page.get_by_role("status").filter(has_text="The Hugging Face Hub is offline")
    expect(banner).to_contain_text("Offline mode is on")  # the search answer's offline_reason, as the catalog gives it
    results = page.get_by_role("list", name="Search results")
    tiny = results.get_by_role("listitem", name=TINY_NAME)
    expect(tiny).to_contain_text(TINY)
    expect(tiny).to_contain_text("LoRA-tunable")
    expect(tiny).to_contain_text("Compact Models")
    shots(page, "search-offline")
    assert_accessible(page)

    tiny.get_by_role("button", name=f"Check availability of {TINY_NAME}").click()
    panel = page.get_by_role("region", name="Availability here")
    expect(panel.get_by_test_id("fine-tune-verdict")).to_have_text("Can be fine-tuned here")
    criteria = panel.get_by_role("list", name="Fine-tuning criteria")
    expect(criteria).to_contain_text("Causal language model: LlamaForCausalLM")
    expect(criteria).to_contain_text("LoRA target modules: " + ", ".join(check["lora_target_modules"]))
    # The estimate is the catalog's; what is free moves with the machine's load, so only its form is checked.
    expect(criteria).to_contain_text(re.compile(rf"about {re.escape(fmt_bytes(check['estimated_memory_bytes']))} needed, "
                                                rf"[\d.]+ [KMGT]?B free in {check['memory_device']}"))
    machine_panel = panel.get_by_role("group", name="This machine")
    expect(machine_panel).to_contain_text(f"of {fmt_bytes(machine['memory_total_bytes'])}")
    if machine.get("gpus"):
        expect(machine_panel).to_contain_text(f"GPU {machine['gpus'][0].get('index', 0)}")
    else:
        expect(machine_panel).to_contain_text("No GPU: training runs on the CPU.")
    # A longer sequence makes a larger estimate: the check is asked again with the new value.
    panel.get_by_label("Tokens").fill("2048")
    with client(suite) as c:
        longer = c.get(f"/v1/models/{TINY}:check", params={"batch_size": 8, "seq_len": 2048, "lora_r": 16}).json()
    assert longer["estimated_memory_bytes"] > check["estimated_memory_bytes"]
    expect(criteria).to_contain_text(f"about {fmt_bytes(longer['estimated_memory_bytes'])} needed")
    shots(page, "availability")
    assert_accessible(page)

    tiny.get_by_role("button", name=f"Use this model: {TINY_NAME}").click()
    expect(page).to_have_url(re.compile(r"/configure$"))
    expect(page.get_by_role("navigation", name="Workflow")).to_contain_text(TINY_NAME)
    expect(page.get_by_label("Model", exact=True)).to_have_value(TINY)
    workflow = json.loads(page.evaluate("sessionStorage.getItem('finetune.workflow')"))
    assert workflow["model"] == {"uid": TINY, "name": TINY_NAME}


def test_browse_by_category_and_provider_and_keep_a_collection(page, suite, shots):
    page.goto("/models?tab=browse")
    compact = page.get_by_role("region", name="Compact Models")
    expect(compact.get_by_role("listitem", name=TINY_NAME)).to_be_visible()
    page.get_by_text("How categories are assigned").click()
    expect(page.get_by_text("first match wins")).to_be_visible()
    shots(page, "browse-by-category")
    assert_accessible(page)
    page.get_by_role("button", name="By provider").click()
    expect(page.get_by_role("region", name="Built-in").get_by_role("listitem", name=TINY_NAME)).to_be_visible()
    # Only what can be LoRA-tuned: every model left says so.
    page.get_by_label("Only models that can be LoRA-tuned").check()
    items = page.get_by_role("listitem").filter(has=page.get_by_role("button", name=re.compile("^Check availability")))
    expect(items.first).to_be_visible()
    for i in range(items.count()):
        expect(items.nth(i)).to_contain_text("LoRA-tunable")
        expect(items.nth(i)).not_to_contain_text("Not LoRA-tunable")
    shots(page, "browse-by-provider")

    page.get_by_role("listitem", name=TINY_NAME).get_by_role("button", name=f"Add {TINY_NAME} to the collection").click()
    expect(page.get_by_role("listitem", name=TINY_NAME).get_by_text("In collection")).to_be_visible()
    page.get_by_role("tab", name=re.compile("My collection")).click()
    collection = page.get_by_role("list", name="My collection")
    expect(collection.get_by_role("listitem", name=TINY_NAME)).to_be_visible()
    expect(page.get_by_role("tab", name=re.compile(r"My collection \(\d+\)"))).to_have_attribute("aria-selected", "true")
    with client(suite) as c:
        assert TINY in [m["id"] for m in c.get("/v1/models").json()["models"]]

    # A bad id is named next to the id field, in the catalog's words.
    page.get_by_label("Model id").fill("../etc")
    page.get_by_role("button", name="Add to collection").click()
    expect(page.get_by_label("Model id")).to_have_accessible_description(re.compile("is not a valid model id"))
    shots(page, "collection-bad-id")
    assert_accessible(page)

    collection.get_by_role("button", name=f"Remove {TINY_NAME} from the collection").click()
    expect(collection.get_by_role("listitem", name=TINY_NAME)).to_have_count(0)
    with client(suite) as c:
        assert TINY not in [m["id"] for m in c.get("/v1/models").json()["models"]]


def test_a_model_fine_tuned_here_is_in_the_collection_with_where_it_came_from(page, suite, shots):
    from tests.web.helpers import create_job, upload_dataset, wait_for_job

    dataset = upload_dataset(suite, "Registry dataset")
    job = create_job(suite, dataset["uid"], "Registry job", model_saving={"saveModel": True, "modelName": "browser-support-v1"},
                     max_steps=4)["job_uid"]
    wait_for_job(suite, job, ("JOB_STATE_COMPLETED",))
    page.goto("/models?tab=collection")
    item = page.get_by_role("list", name="My collection").get_by_role("listitem", name="browser-support-v1")
    expect(item).to_contain_text("finetune-models/browser-support-v1")
    expect(item).to_contain_text("Fine-tuned")
    expect(item).to_contain_text(f"Fine-tuned from {TINY} by job {job}")
    shots(page, "fine-tuned-model")
    assert_accessible(page)
    item.get_by_role("link", name="Try it in the playground").click()
    expect(page).to_have_url(re.compile(rf"/playground\?job={job}$"))
    expect(page.get_by_label("Model A")).to_contain_text("as finetune-models/browser-support-v1")
