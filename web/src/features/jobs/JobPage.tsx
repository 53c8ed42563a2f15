// Stage 5 and 6: one job, live. History from GetRunMetrics, then every new event over the WebSocket (resumed
// after the last one on any reconnect), drawn without re-rendering the page; controls, resources, timeline,
// alerts and logs; the final metrics, samples, artifacts and the inference snippet when it is done.
import { useState } from "react";
import { Link, useParams } from "react-router";
import { ErrorMessage } from "../../components/ErrorMessage";
import { JobStateBadge } from "../../components/JobStateBadge";
import { Card, Loading, PageHeader } from "../../components/ui";
import { useRunStream } from "../../lib/useRunStream";
import { isFinal, useJob } from "./api/jobs";
import { Completion } from "./components/Completion";
import { Diagnosis } from "./components/Diagnosis";
import { JobControls } from "./components/JobControls";
import { Notices } from "./components/Notices";
import { ProgressPanel } from "./components/ProgressPanel";
import { ResourcePanel } from "./components/ResourcePanel";
import { StreamStatus } from "./components/StreamStatus";
import { Timeline } from "./components/Timeline";
import { TrainingCharts } from "./components/TrainingCharts";

export function JobPage() {
  const { jobId = "" } = useParams();
  const job = useJob(jobId);
  const stream = useRunStream(jobId, !job.isError);
  const [diagnosing, setDiagnosing] = useState(false);

  if (job.isPending) return <Loading label="Loading the job…" />;
  if (job.isError) {
    return (
      <>
        <PageHeader title="Job" />
        <ErrorMessage title={`Could not load job ${jobId}`} error={job.error} onRetry={() => void job.refetch()} />
        <p className="mt-3 text-sm"><Link to="/jobs" className="text-indigo-700 underline">All jobs</Link></p>
      </>
    );
  }
  const data = job.data;
  const cfg = data.configuration;
  const queued = data.state === "JOB_STATE_QUEUED" || data.state === "JOB_STATE_CREATED";

  return (
    <>
      <PageHeader
        title={data.display_name || jobId}
        description={<>
          <span className="font-mono">{jobId}</span> · {cfg?.model?.uid} on{" "}
          <Link className="underline" to={`/datasets/${cfg?.dataset?.uid}`}>{cfg?.dataset?.name || cfg?.dataset?.uid}</Link>
          {cfg?.hyperparameters?.uid ? <> · configuration <span className="font-mono">{cfg.hyperparameters.uid}</span></> : null}
          {data.trainer ? <> · trainer <span className="font-mono">{data.trainer}</span>{data.placement && data.placement !== "local"
            ? <>, worker on <span className="font-mono">{data.placement}</span></> : null}</> : null}
        </>}
        actions={<><JobStateBadge state={data.state} /><StreamStatus status={stream.status} reconnects={stream.reconnects} /></>}
      />
      <div className="flex flex-col gap-5">
        {data.state === "JOB_STATE_FAILED" && (
          <ErrorMessage title="The job failed" error={{ message: data.error || "no reason was given", reason: data.state_reason }} />
        )}
        {stream.error && !isFinal(data.state) && <ErrorMessage title="Live stream" error={stream.error} />}
        {queued && (
          <Card><p className="text-sm text-slate-700" role="status">
            Queued: waiting for {data.waiting_for || "a trainer"}. The charts start with its first step.
          </p></Card>
        )}
        <Card title="Controls"><JobControls job={data} series={stream.series} onDiagnose={() => setDiagnosing(true)} /></Card>
        {diagnosing && <Diagnosis jobId={jobId} running={data.state === "JOB_STATE_RUNNING"} />}
        <ProgressPanel job={data} series={stream.series} />
        <TrainingCharts series={stream.series} />
        <Completion job={data} series={stream.series} />
        <div className="grid gap-5 xl:grid-cols-2">
          <ResourcePanel series={stream.series} />
          <Timeline job={data} />
        </div>
        <Notices series={stream.series} />
      </div>
    </>
  );
}
