import { describe, expect, it } from "vitest";
import { PARAMETERS, PARAM_KEYS, SEARCHABLE_KEYS, fromForm, paramOf, toForm } from "./parameters";

describe("the parameter table", () => {
  it("has a field for every parameter of the schema but the uid", () => {
    expect(PARAM_KEYS).not.toContain("uid");
    expect(PARAM_KEYS).toEqual(expect.arrayContaining(["learning_rate", "lora_r", "target_modules", "max_steps", "packing"]));
    for (const key of PARAM_KEYS) expect(PARAMETERS[key].help.length).toBeGreaterThan(10);
  });

  it("leaves out of sweeps what the jobs service refuses to search", () => {
    expect(SEARCHABLE_KEYS).toContain("learning_rate");
    expect(SEARCHABLE_KEYS).not.toContain("target_modules");
    expect(SEARCHABLE_KEYS).not.toContain("packing");
  });
});

describe("form <-> hyperparameters", () => {
  it("round-trips values, with lists as comma-separated text", () => {
    const h = { learning_rate: 0.0002, batch_size: 8, target_modules: ["q_proj", "v_proj"], packing: false, optimizer: "adamw" };
    const form = toForm(h);
    expect(form.target_modules).toBe("q_proj, v_proj");
    expect(form.packing).toBe("false");
    expect(form.max_steps).toBe("");
    expect(fromForm(form)).toEqual({ hyperparameters: h, errors: {} });
  });

  it("leaves empty and skipped fields out, and names a value that is not a number", () => {
    const form = { ...toForm({}), learning_rate: "1e-4", batch_size: "eight", epochs: " 3 ", lora_r: "16" };
    const { hyperparameters, errors } = fromForm(form, ["lora_r"]);
    expect(hyperparameters).toEqual({ learning_rate: 1e-4, epochs: 3 });
    expect(errors).toEqual({ batch_size: 'batch_size must be a number, got "eight"' });
  });

  it("splits target modules on commas and spaces, keeping all-linear whole", () => {
    expect(fromForm({ ...toForm({}), target_modules: "q_proj,k_proj  v_proj" }).hyperparameters.target_modules).toEqual(["q_proj", "k_proj", "v_proj"]);
    expect(fromForm({ ...toForm({}), target_modules: "all-linear" }).hyperparameters.target_modules).toEqual(["all-linear"]);
  });

  it("finds the parameter an API field path is about", () => {
    expect(paramOf("configuration.hyperparameters.batch_size")).toBe("batch_size");
    expect(paramOf("search_space.learning_rate#2")).toBe("learning_rate");
    expect(paramOf("configuration.dataset.uid")).toBeUndefined();
  });
});
