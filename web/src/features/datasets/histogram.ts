// Reading the dataset service's length histograms (`finetune.dataset.v1.Histogram`): buckets with both ends,
// and how many rows lie over a limit. The service's bucket bounds follow one scheme (every integer to 8, then
// four buckets per doubling), so a limit on a bound gives an exact count; any other limit gives a range.
import type { Schemas } from "../../lib/api";

export type Histogram = Schemas["finetune.dataset.v1.Histogram"];

export interface Bucket {
  low: number;
  high: number;
  count: number;
}

export function buckets(h: Histogram | undefined): Bucket[] {
  const uppers = h?.upper_bounds ?? [];
  const counts = h?.counts ?? [];
  return uppers.map((high, i) => ({ low: i === 0 ? (h?.lower_bound ?? 0) : uppers[i - 1] + 1, high, count: counts[i] ?? 0 }));
}

export function total(h: Histogram | undefined): number {
  return (h?.counts ?? []).reduce((a, b) => a + b, 0);
}

/** Rows whose value is over `limit`: at least `min`, at most `max`; `exact` when both agree (the limit is a bound). */
export function rowsOver(h: Histogram | undefined, limit: number): { min: number; max: number; exact: boolean } {
  let min = 0;
  let max = 0;
  for (const b of buckets(h)) {
    if (b.low > limit) min += b.count;
    if (b.high > limit) max += b.count;
  }
  return { min, max, exact: min === max };
}

/** The bucket bounds nearest `limit` from below and above, for an exact count (undefined at the ends). */
export function nearestBounds(h: Histogram | undefined, limit: number): [number | undefined, number | undefined] {
  const bounds = buckets(h).flatMap((b) => [b.low - 1, b.high]).filter((v) => v >= 0);
  const below = bounds.filter((v) => v < limit).at(-1);
  const above = bounds.find((v) => v > limit);
  return [below, above];
}

export function bucketLabel(b: Bucket): string {
  return b.low === b.high ? `${b.low}` : `${b.low}–${b.high}`;
}
