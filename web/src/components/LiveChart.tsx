// A canvas time-series chart (uPlot) fed by a RunSeries: it redraws at most once per animation frame when
// the series changes, without re-rendering React, and holds 100k+ points. `data-points` on the figure is the
// number of points of its first series drawn, for tests and people who want to count.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import { emaSmooth } from "../lib/ema";
import type { RunSeries } from "../lib/runSeries";
import { fmtDuration, fmtNumber } from "../lib/format";

export type XAxis = "step" | "time" | "wall";

export interface LineSpec {
  label: string;
  color: string;
  values: (s: RunSeries) => (number | null)[];
  /** Draw a smoothed copy (TensorBoard's EMA) beside the raw line, which is then drawn faint. */
  smooth?: boolean;
  dash?: number[];
  points?: boolean;
}

export interface LiveChartProps {
  title: string;
  series: RunSeries;
  lines: LineSpec[];
  x?: XAxis | "resources";
  logScale?: boolean;
  smoothing?: number; // 0..0.999
  height?: number;
  valueFormat?: (v: number) => string;
}

declare global {
  interface Window {
    /** Step arrival to its point drawn, in ms (browser side), and trainer event time to drawn (end to end). */
    __chartLatency?: { received: number[]; endToEnd: number[] };
  }
}

function xValues(s: RunSeries, x: LiveChartProps["x"]): number[] {
  if (x === "resources") return s.resourceTime;
  if (x === "time") return s.elapsed;
  if (x === "wall") return s.wall;
  return s.steps;
}

function alpha(color: string, a: number): string {
  return color + Math.round(a * 255).toString(16).padStart(2, "0");
}

const defaultFormat = (v: number) => fmtNumber(v);

export function LiveChart({ title, series, lines, x = "step", logScale = false, smoothing = 0, height = 220,
  valueFormat = defaultFormat }: LiveChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const figure = useRef<HTMLElement>(null);

  useEffect(() => {
    const target = box.current!;
    const specs: uPlot.Series[] = [{ label: x === "step" ? "step" : "time" }];
    for (const line of lines) {
      const smoothed = line.smooth && smoothing > 0;
      specs.push({
        label: line.label,
        stroke: smoothed ? alpha(line.color, 0.3) : line.color,
        width: smoothed ? 1 : 1.5,
        dash: line.dash,
        spanGaps: true,
        points: { show: line.points ?? false, size: 5, fill: line.color },
        value: (_u, v) => (v == null ? "—" : valueFormat(v)),
      });
      if (smoothed) {
        specs.push({ label: `${line.label} (smoothed)`, stroke: line.color, width: 2, spanGaps: true,
          value: (_u, v) => (v == null ? "—" : valueFormat(v)) });
      }
    }
    const timeAxis = x === "wall" || x === "resources";
    let drawnStepAt = series.lastStepReceivedAt;
    const recordLatency = () => {
      if (x === "resources" || series.lastStepReceivedAt === drawnStepAt) return;
      drawnStepAt = series.lastStepReceivedAt;
      const latency = (window.__chartLatency ??= { received: [], endToEnd: [] });
      latency.received.push(performance.now() - drawnStepAt);
      latency.endToEnd.push(Date.now() - series.lastStepTime * 1000);
      if (latency.received.length > 10_000) {
        latency.received.splice(0, 5000);
        latency.endToEnd.splice(0, 5000);
      }
    };
    const build = (): uPlot.AlignedData => {
      const columns: (number | null)[][] = [xValues(series, x)];
      for (const line of lines) {
        const values = line.values(series);
        columns.push(values);
        if (line.smooth && smoothing > 0) columns.push(emaSmooth(values, smoothing));
      }
      return columns as uPlot.AlignedData;
    };
    const options: uPlot.Options = {
      width: Math.max(target.clientWidth, 200),
      height,
      series: specs,
      scales: { x: { time: timeAxis }, y: logScale ? { distr: 3 } : {} },
      axes: [
        { values: x === "time" ? (_u, ticks) => ticks.map((t) => fmtDuration(t)) : undefined, size: 36 },
        { values: (_u, ticks) => ticks.map((t) => valueFormat(t)), size: 62 },
      ],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      hooks: {
        draw: [
          () => {
            const points = lines.length ? lines[0].values(series).reduce((n: number, v) => (v === null ? n : n + 1), 0) : 0;
            figure.current?.setAttribute("data-points", String(points));
            figure.current?.setAttribute("data-last-step", String(series.lastStep));
            recordLatency();
            if (points && !performance.getEntriesByName(`chart-drawn:${title}`).length) performance.mark(`chart-drawn:${title}`);
          },
        ],
      },
    };
    const plot = new uPlot(options, build(), target);
    let frame = 0;
    const redraw = () => {
      frame = 0;
      plot.setData(build());
    };
    const unsubscribe = series.subscribe(() => {
      if (!frame) frame = requestAnimationFrame(redraw);
    });
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(target.clientWidth, 200), height }));
    resize.observe(target);
    return () => {
      unsubscribe();
      cancelAnimationFrame(frame);
      resize.disconnect();
      plot.destroy();
    };
  }, [series, lines, x, logScale, smoothing, height, valueFormat]);

  return (
    <figure ref={figure} className="min-w-0" aria-label={title} data-points="0">
      <figcaption className="mb-1 text-sm font-medium text-slate-700">{title}</figcaption>
      <div ref={box} className="w-full" role="img" aria-label={`${title} chart`} />
    </figure>
  );
}
