// A canvas chart (uPlot) of several lines, each on its own x values (one per compared job, say), joined on
// one x axis; with TensorBoard's smoothing and a log scale as on the job page. Its legend names each line,
// shows its value under the cursor, and exposes the points drawn as `data-points` (set when uPlot draws).
import { useEffect, useMemo, useRef, type ReactNode } from "react";
import uPlot from "uplot";
import { emaSmooth } from "../lib/ema";
import { fmtNumber } from "../lib/format";
import { drawablePoints } from "./overlayPoints";

export interface OverlayLine {
  /** Stable and unique among the lines: the legend item's `data-line`. */
  key: string;
  label: string;
  /** `#rrggbb`. */
  color: string;
  x: ArrayLike<number>;
  y: ArrayLike<number | null>;
  /** The legend's content for this line (a link, say); the label when absent. */
  legend?: ReactNode;
  dash?: number[];
  points?: boolean;
}

export interface OverlayChartProps {
  title: string;
  lines: OverlayLine[];
  logScale?: boolean;
  /** 0..0.999: draws each line smoothed over its raw values, which are then faint. */
  smoothing?: number;
  height?: number;
  xLabel?: string;
  xFormat?: (v: number) => string;
  /** Ticks on whole numbers only (steps). */
  integerX?: boolean;
  valueFormat?: (v: number) => string;
  /** Shown instead of the chart when no line has a point. */
  empty?: ReactNode;
}

/** Distinct line colours, in order (Tableau 10, darkened where needed for contrast on white). */
export const LINE_COLORS = ["#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac"];

function alpha(color: string, a: number): string {
  return color + Math.round(a * 255).toString(16).padStart(2, "0");
}

const INTEGER_INCREMENTS = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6].map((p) => m * p)).sort((a, b) => a - b);

const defaultFormat = (v: number) => fmtNumber(v);

export function OverlayChart({ title, lines, logScale = false, smoothing = 0, height = 240, xLabel = "step", xFormat, integerX = false,
  valueFormat = defaultFormat, empty }: OverlayChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const legend = useRef<HTMLUListElement>(null);
  const smooth = smoothing > 0;
  const prepared = useMemo(() => lines.map((l) => drawablePoints(l.x, l.y, logScale)), [lines, logScale]);
  const hasPoints = prepared.some(([xs]) => xs.length > 0);

  useEffect(() => {
    if (!hasPoints) return;
    const target = box.current!;
    // Each line's raw values, then (when smoothing) its smoothed copy: series 1 + i*perLine (+1).
    const perLine = smooth ? 2 : 1;
    const series: uPlot.Series[] = [{ label: xLabel }];
    lines.forEach((line) => {
      series.push({ label: line.label, stroke: smooth ? alpha(line.color, 0.3) : line.color, width: smooth ? 1 : 1.75,
        dash: line.dash, spanGaps: true, points: { show: line.points ?? false, size: 5, fill: line.color } });
      if (smooth) series.push({ label: `${line.label} (smoothed)`, stroke: line.color, width: 2, dash: line.dash, spanGaps: true, points: { show: false } });
    });
    const tables: uPlot.AlignedData[] = prepared.map(([xs, ys]) => (smooth ? [xs, ys, emaSmooth(ys, smoothing)] : [xs, ys]) as uPlot.AlignedData);
    const data = uPlot.join(tables);
    const item = (key: string) => legend.current?.querySelector<HTMLElement>(`[data-line="${CSS.escape(key)}"]`);
    const options: uPlot.Options = {
      width: Math.max(target.clientWidth, 200),
      height,
      series,
      legend: { show: false },
      scales: { x: { time: false }, y: logScale ? { distr: 3 } : {} },
      axes: [
        { label: xLabel, values: xFormat ? (_u, ticks) => ticks.map(xFormat) : undefined, size: 40, labelSize: 16,
          incrs: integerX ? INTEGER_INCREMENTS : undefined },
        { values: (_u, ticks) => ticks.map((t) => valueFormat(t)), size: 60 },
      ],
      cursor: { drag: { x: true, y: false } },
      hooks: {
        draw: [
          (u) => {
            lines.forEach((line, i) => {
              const column = u.data[1 + i * perLine] as (number | null | undefined)[];
              const drawn = column.reduce((n: number, v) => (v == null ? n : n + 1), 0);
              item(line.key)?.setAttribute("data-points", String(drawn));
            });
          },
        ],
        setCursor: [
          (u) => {
            const idx = u.cursor.idx;
            lines.forEach((line, i) => {
              const v = idx == null ? null : (u.data[smooth ? 2 + i * perLine : 1 + i * perLine][idx] as number | null | undefined);
              const out = item(line.key)?.querySelector("[data-value]");
              if (out) out.textContent = v == null ? "" : valueFormat(v);
            });
          },
        ],
      },
    };
    const plot = new uPlot(options, data, target);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(target.clientWidth, 200), height }));
    resize.observe(target);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [lines, prepared, hasPoints, logScale, smooth, smoothing, height, xLabel, xFormat, integerX, valueFormat]);

  return (
    <figure className="min-w-0" aria-label={title} data-lines={lines.length}>
      <figcaption className="mb-1 text-sm font-medium text-slate-700">{title}</figcaption>
      {hasPoints ? (
        <div ref={box} className="w-full" role="img" aria-label={`${title} chart`} />
      ) : (
        <div className="flex items-center justify-center rounded-md bg-slate-50 text-sm text-slate-500" style={{ height }}>
          {empty ?? "No points to draw yet."}
        </div>
      )}
      <ul ref={legend} className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-700" aria-label={`${title} legend`}>
        {lines.map((line, i) => (
          <li key={line.key} data-line={line.key} data-points="0" className="flex items-center gap-1.5">
            <svg aria-hidden width="18" height="6" className="shrink-0">
              <line x1="0" y1="3" x2="18" y2="3" stroke={line.color} strokeWidth="2.5" strokeDasharray={line.dash?.join(" ")} />
            </svg>
            <span>{line.legend ?? line.label}</span>
            <span className="text-slate-500">({prepared[i][0].length} {prepared[i][0].length === 1 ? "point" : "points"})</span>
            <span data-value className="font-medium tabular-nums text-slate-900" />
          </li>
        ))}
      </ul>
    </figure>
  );
}
