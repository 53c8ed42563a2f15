import { describe, expect, it } from "vitest";
import { bucketLabel, buckets, nearestBounds, rowsOver, total } from "./histogram";

// Values 0, 1, 9, 10, 10, 15, 16 and 30 on the service's scheme: buckets 0 | 1 | 9–10 | 11–12 | 13–14 | 15–16 | ... | 29–32.
const h = { lower_bound: 0, upper_bounds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32],
  counts: [1, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 2, 0, 0, 0, 1] };

describe("length histograms", () => {
  it("gives every bucket both ends", () => {
    const all = buckets(h);
    expect(all[9]).toEqual({ low: 9, high: 10, count: 3 });
    expect(all.at(-1)).toEqual({ low: 29, high: 32, count: 1 });
    expect(bucketLabel(all[0])).toBe("0");
    expect(bucketLabel(all[9])).toBe("9–10");
    expect(total(h)).toBe(8);
  });

  it("counts rows over a bound exactly and over any other limit as a range", () => {
    expect(rowsOver(h, 16)).toEqual({ min: 1, max: 1, exact: true });
    expect(rowsOver(h, 10)).toEqual({ min: 3, max: 3, exact: true });
    expect(rowsOver(h, 0)).toEqual({ min: 7, max: 7, exact: true });
    expect(rowsOver(h, 15)).toEqual({ min: 1, max: 3, exact: false });
    expect(rowsOver(h, 100)).toEqual({ min: 0, max: 0, exact: true });
    expect(nearestBounds(h, 15)).toEqual([14, 16]);
  });

  it("reads a histogram that is missing (a dataset saved before histograms) as empty", () => {
    expect(buckets(undefined)).toEqual([]);
    expect(rowsOver(undefined, 512)).toEqual({ min: 0, max: 0, exact: true });
  });
});
