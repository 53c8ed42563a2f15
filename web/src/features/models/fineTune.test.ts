import { describe, expect, it } from "vitest";
import { fineTuneCriteria, memoryShare } from "./fineTune";

const tiny = {
  model_id: "finetune-builtin/tiny-llama-3m", found: true, locations: ["builtin"], config_found: true, is_causal_lm: true,
  architecture: "LlamaForCausalLM", lora_supported: true, lora_target_modules: ["q_proj", "v_proj"], batch_size: 8, seq_len: 512,
  estimated_memory_bytes: 600 * 2 ** 20, available_memory_bytes: 20 * 2 ** 30, memory_device: "CPU RAM", can_fine_tune: true,
};

describe("fineTuneCriteria", () => {
  it("says yes to each criterion of a small causal LM that fits", () => {
    const c = fineTuneCriteria(tiny);
    expect(c.map((x) => [x.label, x.verdict])).toEqual([
      ["Available", "yes"], ["Causal language model", "yes"], ["LoRA target modules", "yes"], ["Fits in memory", "yes"],
    ]);
    expect(c[3].detail).toBe("about 600 MB needed, 20.0 GB free in CPU RAM (batch 8, 512 tokens)");
  });

  it("says no when the estimate exceeds what is free, and unknown when the model's config is unread", () => {
    expect(fineTuneCriteria({ ...tiny, estimated_memory_bytes: 30 * 2 ** 30 })[3].verdict).toBe("no");
    const unread = fineTuneCriteria({ model_id: "acme/x", found: false, hub_reason: "offline mode is on" });
    expect(unread.map((x) => x.verdict)).toEqual(["no", "unknown", "unknown", "unknown"]);
    expect(unread[0].detail).toBe("not found here (hub: offline mode is on)");
  });

  it("gives the estimate's share of free memory", () => {
    expect(memoryShare({ estimated_memory_bytes: 1, available_memory_bytes: 4 })).toBe(25);
    expect(memoryShare({})).toBeNaN();
  });
});
