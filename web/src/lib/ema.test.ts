import { describe, expect, it } from "vitest";
import { emaSmooth } from "./ema";

describe("emaSmooth", () => {
  it("is the identity without smoothing", () => {
    expect(emaSmooth([3, 2, null, 1], 0)).toEqual([3, 2, null, 1]);
  });

  it("debiases like TensorBoard: a constant stays constant from the first point", () => {
    const out = emaSmooth([2, 2, 2, 2], 0.9);
    for (const v of out) expect(v).toBeCloseTo(2, 12);
  });

  it("averages exponentially and skips missing values", () => {
    const [a, b, gap, c] = emaSmooth([1, 3, null, 5], 0.5);
    expect(a).toBeCloseTo(1);
    expect(b).toBeCloseTo((0.25 + 1.5) / 0.75); // last = 0.5*0.5 + 0.5*3 = 1.75, debias 1 - 0.25
    expect(gap).toBeNull();
    expect(c).toBeCloseTo((1.75 * 0.5 + 2.5) / 0.875);
  });

  it("keeps a non-finite loss visible instead of poisoning the average", () => {
    const out = emaSmooth([1, Number.NaN, 1], 0.6);
    expect(Number.isNaN(out[1] as number)).toBe(true);
    expect(out[2]).toBeCloseTo(1);
  });
});
