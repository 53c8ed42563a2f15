// TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled to 0.
// (tensorboard/webapp/widgets/line_chart_v2/lib/data_transformer.ts, classicSmoothing)

/** `weight` in [0, 1): 0 is no smoothing. Missing (null) and non-finite values are kept as they are and
 * do not enter the average. */
export function emaSmooth(values: ArrayLike<number | null>, weight: number): (number | null)[] {
  const out: (number | null)[] = new Array(values.length);
  if (weight <= 0) {
    for (let i = 0; i < values.length; i++) out[i] = values[i];
    return out;
  }
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || !Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    count++;
    const debias = weight === 1 ? 1 : 1 - Math.pow(weight, count);
    out[i] = last / debias;
  }
  return out;
}
