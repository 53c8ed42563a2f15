import { describe, expect, it } from "vitest";
import { ApiError } from "../../lib/errors";
import { errorFields, issuesByField, messageFor } from "./issues";

describe("issuesByField", () => {
  it("groups the check's issues by field", () => {
    const grouped = issuesByField([
      { field: "learning_rate", message: "a" }, { field: "learning_rate", message: "b" }, { message: "c" },
    ]);
    expect(grouped.get("learning_rate")?.map((i) => i.message)).toEqual(["a", "b"]);
    expect(grouped.get("")?.map((i) => i.message)).toEqual(["c"]);
  });
});

describe("errorFields and messageFor", () => {
  const sweep = new ApiError(400, {
    reason: "INVALID_SWEEP",
    message: "the sweep was not accepted, 3 problems: ...",
    metadata: {
      "search_space.learning_rate": "given both as a fixed value and as a range",
      "search_space.learning_rate#2": "min 0.01 is greater than max 0.001",
      "configuration.hyperparameters.batch_size": "batch_size must be in [1, 4096], got 0",
    },
  });

  it("reads every entry of a per-field error, joining repeats of one field", () => {
    const fields = errorFields(sweep);
    expect(messageFor(fields, "search_space.learning_rate")).toBe("given both as a fixed value and as a range; min 0.01 is greater than max 0.001");
    expect(messageFor(fields, "hyperparameters.batch_size")).toBe("batch_size must be in [1, 4096], got 0");
    expect(messageFor(fields, "hyperparameters.learning_rate")).toBeUndefined();
  });

  it("takes metadata.field, and no other metadata, from other errors", () => {
    const fields = errorFields(new ApiError(400, { reason: "INVALID_MODEL_ID", message: "bad id", metadata: { field: "model_id", model_id: "../x" } }));
    expect([...fields]).toEqual([["model_id", "bad id"]]);
    expect(errorFields(new ApiError(404, { reason: "NO_BEST_CONFIGURATION", message: "none", metadata: { mode: "manual" } })).size).toBe(0);
    expect(errorFields(undefined).size).toBe(0);
  });
});
