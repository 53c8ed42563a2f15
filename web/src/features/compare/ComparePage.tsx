// Compare (the guide's experiment tracking): pick jobs, overlay their loss curves, the metrics table with the
// best of each marked, and the configuration diff. The picked jobs live in the URL: /compare?jobs=a,b.
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { ErrorMessage } from "../../components/ErrorMessage";
import { LINE_COLORS } from "../../components/OverlayChart";
import { Card, Empty, Loading, PageHeader } from "../../components/ui";
import { isFinal, useJobList } from "../../hooks/useJobList";
import type { Job } from "../../lib/api";
import { idOf } from "../../lib/format";
import { RunSeries } from "../../lib/runSeries";
import { useComparison, useRunsMetrics } from "./api/compare";
import { ConfigDiff } from "./components/ConfigDiff";
import { CurvesCard, type CurveJob } from "./components/CurvesCard";
import { type ColumnJob } from "./components/JobHeader";
import { JobPicker } from "./components/JobPicker";
import { MetricsTable } from "./components/MetricsTable";
import { diffRows } from "./configDiff";

function parseIds(value: string | null): string[] {
  return [...new Set((value ?? "").split(",").map((s) => idOf(s.trim())).filter(Boolean))];
}

export function ComparePage() {
  const [params, setParams] = useSearchParams();
  // The picked jobs: kept here too, so a ticked box stays ticked while the router commits the new URL
  // (its navigations are transitions); the URL wins when it changes otherwise (back, forward, a link).
  const urlJobs = params.get("jobs") ?? "";
  const [ids, setPicked] = useState(() => parseIds(urlJobs));
  useEffect(() => setPicked(parseIds(urlJobs)), [urlJobs]);
  const setIds = (next: string[]) => {
    setPicked(next);
    setParams((p) => {
      const q = new URLSearchParams(p);
      if (next.length) q.set("jobs", next.join(","));
      else q.delete("jobs");
      return q;
    }, { replace: true });
  };

  const list = useJobList();
  const byId = useMemo(() => new Map<string, Job>((list.data?.jobs ?? []).map((j) => [j.job_uid || idOf(j.name), j])), [list.data]);
  const comparison = useComparison(ids);
  const comparedState = (id: string) =>
    comparison.data?.jobs?.find((c) => idOf(c.job) === id)?.state ?? byId.get(id)?.state;
  const metrics = useRunsMetrics(ids, (id) => !isFinal(comparedState(id) as Job["state"]));

  const columns: ColumnJob[] = ids.map((id, i) => {
    const compared = comparison.data?.jobs?.find((c) => idOf(c.job) === id);
    return {
      id,
      name: compared?.display_name || byId.get(id)?.display_name || id,
      color: LINE_COLORS[i % LINE_COLORS.length],
      state: comparedState(id),
    };
  });
  // RunSeries are rebuilt only when a job's metrics (or its name or colour) change, so the charts keep their zoom.
  const seriesCache = useRef(new WeakMap<object, RunSeries>());
  const metricsKey = metrics.map((m) => `${m.dataUpdatedAt}:${m.errorUpdatedAt}`).join(",");
  const columnsKey = JSON.stringify(columns);
  const curves: CurveJob[] = useMemo(
    () => columns.map((c, i) => {
      const data = metrics[i]?.data;
      let series: RunSeries | null | undefined = data === undefined ? undefined : null;
      if (data) {
        series = seriesCache.current.get(data);
        if (!series) {
          series = new RunSeries();
          series.load(data);
          seriesCache.current.set(data, series);
        }
      }
      return { ...c, series, error: metrics[i]?.error ?? null };
    }),
    [columnsKey, metricsKey], // by value: `columns` and `metrics` are new arrays on every render
  );
  const rows = useMemo(() => (comparison.data ? diffRows(comparison.data, byId) : []), [comparison.data, byId]);

  return (
    <div className="flex flex-col gap-5">
      <PageHeader title="Compare jobs"
        description="Pick two or more jobs to overlay their loss curves, compare their metrics (the best of each marked) and see how their configurations differ." />
      <JobPicker selected={ids} onChange={setIds} />
      {ids.length === 0 ? (
        <Empty title="No jobs picked">Tick two or more jobs above, or open <Link className="text-indigo-700 underline" to="/jobs">the job list</Link>.</Empty>
      ) : (
        <>
          <CurvesCard jobs={curves} />
          <Card title="Metrics">
            {ids.length < 2 ? (
              <p className="text-sm text-slate-600">Pick one more job to compare metrics and configurations.</p>
            ) : comparison.isPending ? (
              <Loading label="Comparing…" />
            ) : comparison.isError ? (
              <ErrorMessage error={comparison.error} title="Could not compare these jobs" onRetry={() => void comparison.refetch()} />
            ) : (
              <MetricsTable comparison={comparison.data} columns={columns} />
            )}
          </Card>
          {ids.length >= 2 && comparison.data && (
            <Card title="Configuration">
              <ConfigDiff rows={rows} columns={columns} />
            </Card>
          )}
        </>
      )}
    </div>
  );
}
