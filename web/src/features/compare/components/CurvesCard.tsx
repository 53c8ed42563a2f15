// The compared jobs' training and validation loss curves, overlaid: one line per job in its colour,
// with smoothing (TensorBoard's EMA), a log scale and x by step or training time.
import { useMemo, useState } from "react";
import { Link } from "react-router";
import { ErrorMessage } from "../../../components/ErrorMessage";
import { OverlayChart, type OverlayLine } from "../../../components/OverlayChart";
import { Card, Field, Select } from "../../../components/ui";
import { fmtDuration } from "../../../lib/format";
import type { RunSeries } from "../../../lib/runSeries";

export interface CurveJob {
  id: string;
  name: string;
  color: string;
  /** undefined while loading; null when the job has no run yet. */
  series: RunSeries | null | undefined;
  error: unknown;
}

type XAxis = "step" | "time";

function lines(jobs: CurveJob[], x: XAxis, values: (s: RunSeries) => (number | null)[], points: boolean): OverlayLine[] {
  return jobs.map((j) => ({
    key: j.id,
    label: j.name,
    color: j.color,
    x: j.series ? (x === "step" ? j.series.steps : j.series.elapsed) : [],
    y: j.series ? values(j.series) : [],
    points,
    legend: (
      <Link to={`/jobs/${j.id}`} className="text-indigo-700 hover:underline">
        {j.name}
        {j.series === null ? " (no run yet)" : j.series === undefined && !j.error ? " (loading…)" : ""}
      </Link>
    ),
  }));
}

const durationTick = (v: number) => fmtDuration(v);

export function CurvesCard({ jobs }: { jobs: CurveJob[] }) {
  const [smoothing, setSmoothing] = useState(0);
  const [logScale, setLogScale] = useState(false);
  const [x, setX] = useState<XAxis>("step");
  const train = useMemo(() => lines(jobs, x, (s) => s.train, false), [jobs, x]);
  const validation = useMemo(() => lines(jobs, x, (s) => s.validation, true), [jobs, x]);
  const xLabel = x === "step" ? "step" : "training time";
  const xFormat = x === "time" ? durationTick : undefined;
  const failed = jobs.filter((j) => j.error);

  return (
    <Card title="Loss curves" actions={
      <div className="flex flex-wrap items-end gap-4">
        <Field label={`Smoothing ${smoothing.toFixed(2)}`} className="w-44">
          {(p) => <input {...p} type="range" min={0} max={0.99} step={0.01} value={smoothing}
            onChange={(e) => setSmoothing(Number(e.target.value))} className="accent-indigo-600" />}
        </Field>
        <label className="flex items-center gap-2 text-sm text-slate-800">
          <input type="checkbox" className="size-4 accent-indigo-600" checked={logScale} onChange={(e) => setLogScale(e.target.checked)} />
          Log scale
        </label>
        <Field label="X axis" className="w-40">
          {(p) => (
            <Select {...p} value={x} onChange={(e) => setX(e.target.value as XAxis)}>
              <option value="step">Step</option>
              <option value="time">Training time</option>
            </Select>
          )}
        </Field>
      </div>
    }>
      {failed.map((j) => <ErrorMessage key={j.id} error={j.error} title={`Could not load the curves of ${j.name}`} />)}
      <div className="grid gap-6 xl:grid-cols-2">
        <OverlayChart title="Training loss" lines={train} logScale={logScale} smoothing={smoothing} xLabel={xLabel} xFormat={xFormat} integerX={x === "step"}
          empty="No training steps logged yet." />
        <OverlayChart title="Validation loss" lines={validation} logScale={logScale} smoothing={smoothing} xLabel={xLabel} xFormat={xFormat} integerX={x === "step"}
          empty="No evaluations yet: a job evaluates when its dataset has a validation split." />
      </div>
    </Card>
  );
}
