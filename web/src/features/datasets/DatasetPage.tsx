// One saved dataset: what it holds, its statistics, its rows page by page (train and validation), repair into a
// new dataset, edit its name, description and tags, delete it, or use it for the next stage (Models).
import { ArrowLeft, ArrowRight, CheckCircle2, Pencil } from "lucide-react";
import { useState } from "react";
import { Link, useLocation, useParams } from "react-router";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Button, Card, Loading, PageHeader, Stat } from "../../components/ui";
import { fmtBytes, fmtInt, fmtTime, idOf, timeAgo } from "../../lib/format";
import { useWorkflow } from "../../lib/workflow";
import { useDataset } from "./api/datasets";
import { DeleteDatasetButton } from "./components/DeleteDatasetButton";
import { EditDatasetForm } from "./components/EditDatasetForm";
import { RepairForm } from "./components/RepairForm";
import { retryable } from "./retryable";
import { RowBrowser } from "./components/RowBrowser";
import { StatisticsPanel } from "./components/StatisticsPanel";
import { TagList } from "./components/TagList";
import { useChooseDataset } from "./hooks/useChooseDataset";

/** Whether the metadata changed after the save (the two times of a fresh save differ by microseconds). */
function edited(created?: string, updated?: string): boolean {
  return !!created && !!updated && new Date(updated).getTime() - new Date(created).getTime() > 1000;
}

export function DatasetPage() {
  const { datasetId = "" } = useParams();
  const dataset = useDataset(datasetId);
  const saved = (useLocation().state as { saved?: boolean } | null)?.saved;
  const [editing, setEditing] = useState(false);
  const choose = useChooseDataset();
  const picked = useWorkflow().dataset?.uid === datasetId;

  if (dataset.isPending) return <Loading label="Loading the dataset…" />;
  if (dataset.isError) {
    return (
      <>
        <PageHeader title="Dataset" />
        <ErrorMessage title={`Could not open dataset ${datasetId}`} error={dataset.error}
          onRetry={retryable(dataset.error) ? () => void dataset.refetch() : undefined} />
        <Link to="/datasets" className="mt-4 inline-flex items-center gap-1 text-sm font-medium text-indigo-700 hover:underline">
          <ArrowLeft className="size-4" aria-hidden /> All datasets
        </Link>
      </>
    );
  }
  const ds = dataset.data;
  const warnings = ds.warnings ?? [];

  return (
    <>
      <PageHeader title={ds.display_name || ds.uid || datasetId}
        description={<>{ds.description || "No description."} <span className="font-mono text-xs text-slate-500">{ds.uid}</span></>}
        actions={<>
          <Link to="/datasets" className="inline-flex items-center gap-1 text-sm font-medium text-indigo-700 hover:underline">
            <ArrowLeft className="size-4" aria-hidden /> All datasets
          </Link>
          <Button icon={<Pencil className="size-4" aria-hidden />} onClick={() => setEditing(true)} disabled={editing}>Edit</Button>
          <DeleteDatasetButton dataset={ds} />
          <Button variant="primary" icon={<ArrowRight className="size-4" aria-hidden />} onClick={() => choose(ds)}>
            {picked ? "Use this dataset (chosen)" : "Use this dataset"}
          </Button>
        </>} />

      <div className="space-y-5">
        {saved && (
          <p role="status" className="flex items-center gap-2 rounded-md bg-emerald-50 p-3 text-sm text-emerald-900 ring-1 ring-emerald-200">
            <CheckCircle2 className="size-4" aria-hidden /> Saved. Use it for a job with “Use this dataset”, or browse its rows below.
          </p>
        )}
        {editing ? (
          <Card title="Edit name, description and tags"><EditDatasetForm dataset={ds} onDone={() => setEditing(false)} /></Card>
        ) : null}
        <Card title="Summary">
          <dl className="grid grid-cols-2 gap-4 sm:grid-cols-3 lg:grid-cols-6">
            <Stat label="Train rows" value={fmtInt(ds.train_rows)} />
            <Stat label="Validation rows" value={fmtInt(ds.validation_rows ?? 0)} />
            <Stat label="Columns" value={(ds.columns ?? []).join(", ") || "—"} />
            <Stat label="File" value={(ds.format || "—").toUpperCase()} hint={`${ds.filename ?? ""} · ${fmtBytes(ds.size_bytes)} · ${ds.encoding ?? ""}`} />
            <div className="min-w-0">
              <dt className="text-xs font-medium uppercase tracking-wide text-slate-500">Created</dt>
              <dd className="mt-0.5 text-sm font-medium text-slate-900" title={fmtTime(ds.create_time)}>{timeAgo(ds.create_time)}</dd>
              {edited(ds.create_time, ds.update_time) && <dd className="text-xs text-slate-500" title={fmtTime(ds.update_time)}>edited {timeAgo(ds.update_time)}</dd>}
            </div>
            <div className="min-w-0">
              <dt className="text-xs font-medium uppercase tracking-wide text-slate-500">Tags</dt>
              <dd className="mt-1">{ds.tags?.length ? <TagList tags={ds.tags} /> : <span className="text-sm text-slate-500">none</span>}</dd>
            </div>
          </dl>
          {ds.source_dataset && (
            <p className="mt-3 text-sm text-slate-700">
              Repaired from <Link className="font-medium text-indigo-700 underline" to={`/datasets/${idOf(ds.source_dataset)}`}>{idOf(ds.source_dataset)}</Link>.
            </p>
          )}
          {warnings.length > 0 && (
            <div className="mt-3">
              <h3 className="text-sm font-medium text-amber-900">Warnings from the upload</h3>
              <ul className="mt-1 list-disc pl-5 text-sm text-amber-950">{warnings.map((w) => <li key={w}>{w}</li>)}</ul>
            </div>
          )}
        </Card>
        <Card title="Rows"><RowBrowser dataset={ds} /></Card>
        <Card title="Statistics (every row, before the validation split)"><StatisticsPanel statistics={ds.statistics} /></Card>
        <Card title="Repair"><RepairForm key={ds.uid} dataset={ds} /></Card>
      </div>
    </>
  );
}
