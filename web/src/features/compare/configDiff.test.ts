import { describe, expect, it } from "vitest";
import type { Job } from "../../lib/api";
import { diffRows, valueText } from "./configDiff";

const comparison = {
  jobs: [
    { job: "jobs/a", model: "m", configuration_uid: "u1", hyperparameters: { uid: "u1", learning_rate: 0.001, batch_size: 4, target_modules: ["q_proj", "v_proj"] } },
    { job: "jobs/b", model: "m", configuration_uid: "u2", hyperparameters: { uid: "u2", learning_rate: 0.002, batch_size: 4, target_modules: ["q_proj", "v_proj"], max_steps: 6 } },
  ],
  differences: [{ parameter: "learning_rate", values: ["0.001", "0.002"] }, { parameter: "dataset", values: ["d1", "d2"] }],
};

describe("diffRows", () => {
  it("lists model, dataset, configuration UID and every hyperparameter, marking those that differ", () => {
    const rows = diffRows(comparison, new Map());
    expect(rows.map((r) => r.parameter)).toEqual(["model", "dataset", "configuration_uid", "learning_rate", "batch_size", "target_modules", "max_steps"]);
    const by = Object.fromEntries(rows.map((r) => [r.parameter, r]));
    expect(by.model).toEqual({ parameter: "model", values: ["m", "m"], differs: false });
    expect(by.learning_rate.differs).toBe(true);
    expect(by.batch_size.differs).toBe(false);
    expect(by.target_modules.values).toEqual(["q_proj, v_proj", "q_proj, v_proj"]);
    expect(by.max_steps).toEqual({ parameter: "max_steps", values: ["—", "6"], differs: true }); // unset on one side
    expect(by.configuration_uid.differs).toBe(true);
    expect(by.dataset).toEqual({ parameter: "dataset", values: ["d1", "d2"], differs: true }); // from the answer
  });

  it("names the dataset from the job list when it has the job", () => {
    const job = (uid: string) => ({ configuration: { dataset: { uid, name: "Support" } } }) as Job;
    const rows = diffRows({ ...comparison, differences: [] }, new Map([["a", job("d1")], ["b", job("d1")]]));
    expect(rows[1]).toEqual({ parameter: "dataset", values: ["Support (d1)", "Support (d1)"], differs: false });
  });
});

describe("valueText", () => {
  it("writes unset values as a dash and lists with commas", () => {
    expect([valueText(undefined), valueText(""), valueText([]), valueText(0), valueText(false), valueText([1, 2])])
      .toEqual(["—", "—", "—", "0", "false", "1, 2"]);
  });
});
