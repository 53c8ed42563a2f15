import { describe, expect, it } from "vitest";
import { bestSoFar, describeRange, searchedParameters, trialValue, type Trial } from "./trials";

describe("trials", () => {
  const trials: Trial[] = [
    { number: 0, state: "TRIAL_STATE_COMPLETED", validation_loss: 5.4, parameters: { learning_rate: 0.0005 } },
    { number: 1, state: "TRIAL_STATE_FAILED", parameters: { learning_rate: 0.002 } },
    { number: 2, state: "TRIAL_STATE_COMPLETED", validation_loss: 5.0, parameters: { learning_rate: 0.001 } },
    { number: 3, state: "TRIAL_STATE_PRUNED", validation_loss: 4.0, parameters: { learning_rate: 0.003 } },
  ];

  it("keeps the lowest completed loss so far (a pruned trial's partial loss does not count)", () => {
    expect(bestSoFar(trials)).toEqual([5.4, 5.4, 5.0, 5.0]);
    expect(bestSoFar([{ number: 0, state: "TRIAL_STATE_RUNNING" }])).toEqual([null]);
  });

  it("reads the searched parameters once each, and a trial's value of one", () => {
    expect(searchedParameters({ search_space: [{ parameter: "learning_rate" }, { parameter: "lora_r" }, { parameter: "learning_rate" }] }))
      .toEqual(["learning_rate", "lora_r"]);
    expect(trialValue(trials[0], "learning_rate")).toBe("0.0005");
    expect(trialValue(trials[0], "lora_r")).toBe("—");
  });

  it("describes ranges in words", () => {
    expect(describeRange({ parameter: "optimizer", choices: ["adamw", "sgd"] })).toBe("adamw, sgd");
    expect(describeRange({ parameter: "learning_rate", values: [0.0005, 0.002] })).toBe("0.0005, 0.002");
    expect(describeRange({ parameter: "learning_rate", min: 0.0001, max: 0.001, log_scale: true })).toBe("0.0001 to 0.001, log scale");
    expect(describeRange({ parameter: "batch_size", min: 4, max: 16, step: 4 })).toBe("4 to 16, step 4");
  });
});
