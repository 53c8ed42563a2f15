import { describe, expect, it } from "vitest";
import { drawablePoints } from "./overlayPoints";

describe("drawablePoints", () => {
  it("keeps finite values, one per x (the last wins)", () => {
    expect(drawablePoints([1, 2, 2, 3, 4], [5, null, 4, Number.NaN, 3], false)).toEqual([[1, 2, 4], [5, 4, 3]]);
  });

  it("drops values a log scale cannot draw", () => {
    expect(drawablePoints([1, 2, 3], [0, -1, 2], true)).toEqual([[3], [2]]);
    expect(drawablePoints([1, 2, 3], [0, -1, 2], false)).toEqual([[1, 2, 3], [0, -1, 2]]);
  });
});
