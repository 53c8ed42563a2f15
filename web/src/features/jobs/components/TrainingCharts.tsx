// The job's training curves: loss (train, smoothed, validation), learning rate, gradient norm and throughput,
// drawn live from the run's series, with TensorBoard's smoothing, a log scale and x by step or time.
import { useId, useState } from "react";
import { LiveChart, type LineSpec, type XAxis } from "../../../components/LiveChart";
import { Card, Select } from "../../../components/ui";
import type { RunSeries } from "../../../lib/runSeries";

const LOSS: LineSpec[] = [
  { label: "train loss", color: "#4f46e5", values: (s) => s.train, smooth: true },
  { label: "validation loss", color: "#ea580c", values: (s) => s.validation, points: true },
];
const LEARNING_RATE: LineSpec[] = [{ label: "learning rate", color: "#0891b2", values: (s) => s.learningRate }];
const GRAD_NORM: LineSpec[] = [{ label: "grad norm", color: "#be123c", values: (s) => s.gradNorm, smooth: true }];
const THROUGHPUT: LineSpec[] = [{ label: "tokens/s", color: "#15803d", values: (s) => s.tokensPerSecond, smooth: true }];
const lrFormat = (v: number) => (v === 0 ? "0" : v.toExponential(1));

export function TrainingCharts({ series }: { series: RunSeries }) {
  const [smoothing, setSmoothing] = useState(0.6);
  const [logScale, setLogScale] = useState(false);
  const [x, setX] = useState<XAxis>("step");
  const ids = { smoothing: useId(), log: useId(), x: useId() };

  const toolbar = (
    <div className="flex flex-wrap items-center gap-4 text-sm">
      <label htmlFor={ids.smoothing} className="flex items-center gap-2">
        Smoothing
        <input id={ids.smoothing} type="range" min={0} max={0.99} step={0.01} value={smoothing}
          onChange={(e) => setSmoothing(Number(e.target.value))} className="w-28 accent-indigo-600" />
        <span className="w-8 tabular-nums">{smoothing.toFixed(2)}</span>
      </label>
      <label htmlFor={ids.log} className="flex items-center gap-2">
        <input id={ids.log} type="checkbox" checked={logScale} onChange={(e) => setLogScale(e.target.checked)} className="size-4 accent-indigo-600" />
        Log scale
      </label>
      <label htmlFor={ids.x} className="flex items-center gap-2 whitespace-nowrap">
        X axis
        <Select id={ids.x} value={x} onChange={(e) => setX(e.target.value as XAxis)} className="w-36">
          <option value="step">Step</option>
          <option value="time">Training time</option>
          <option value="wall">Wall clock</option>
        </Select>
      </label>
    </div>
  );

  return (
    <Card title="Training" actions={toolbar}>
      <div className="grid gap-6 lg:grid-cols-2">
        <div className="lg:col-span-2">
          <LiveChart title="Loss" series={series} lines={LOSS} x={x} logScale={logScale} smoothing={smoothing} height={280} />
        </div>
        <LiveChart title="Learning rate" series={series} lines={LEARNING_RATE} x={x} valueFormat={lrFormat} />
        <LiveChart title="Gradient norm" series={series} lines={GRAD_NORM} x={x} logScale={logScale} smoothing={smoothing} />
        <LiveChart title="Throughput (tokens/s)" series={series} lines={THROUGHPUT} x={x} smoothing={smoothing} />
      </div>
    </Card>
  );
}
