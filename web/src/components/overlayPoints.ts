// The points of an overlay chart's line that can be drawn (kept apart from the chart, which needs a browser).

/** A line's drawable points: finite values (positive ones on a log scale), one per x (the last wins). */
export function drawablePoints(x: ArrayLike<number>, y: ArrayLike<number | null>, logScale: boolean): [number[], number[]] {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const v = y[i];
    if (v === null || !Number.isFinite(v) || !Number.isFinite(x[i]) || (logScale && v <= 0)) continue;
    if (xs.length && xs[xs.length - 1] === x[i]) ys[ys.length - 1] = v;
    else {
      xs.push(x[i]);
      ys.push(v);
    }
  }
  return [xs, ys];
}
