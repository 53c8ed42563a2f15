import { describe, expect, it } from "vitest";
import { gridPoints, newRow, toRange, type RangeRow } from "./ranges";

const row = (change: Partial<RangeRow>): RangeRow => ({ ...newRow("batch_size"), ...change });

describe("toRange", () => {
  it("sends values, choices, or min/max/step/log as the jobs service reads them", () => {
    expect(toRange(row({ how: "values", values: "4, 8,16" }))).toEqual({ range: { parameter: "batch_size", values: [4, 8, 16] } });
    expect(toRange({ ...newRow("optimizer"), values: "adamw, sgd" })).toEqual({ range: { parameter: "optimizer", choices: ["adamw", "sgd"] } });
    expect(toRange(newRow("learning_rate"))).toEqual({ range: { parameter: "learning_rate", min: 0.0001, max: 0.0005, step: 0, log_scale: true } });
  });

  it("names what the browser cannot send", () => {
    expect(toRange(row({ how: "values", values: "4, x" }))).toEqual({ error: 'batch_size a value must be a number, got "x"' });
    expect(toRange(row({ how: "range", min: "", max: "8" }))).toEqual({ error: "batch_size needs a minimum" });
  });
});

describe("gridPoints", () => {
  it("counts as the grid does: distinct values, steps from min, or min/middle/max", () => {
    expect(gridPoints(row({ how: "values", values: "4, 8, 8" }))).toBe(2);
    expect(gridPoints(row({ how: "range", min: "4", max: "16", step: "4" }))).toBe(4);
    expect(gridPoints(row({ how: "range", min: "4", max: "16" }))).toBe(3);
    expect(gridPoints(row({ how: "range", min: "16", max: "4" }))).toBeUndefined();
  });
});
