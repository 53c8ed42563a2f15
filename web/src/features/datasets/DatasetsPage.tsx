// Stage 1 of the guide, "Dataset Selection": every saved dataset, newest first, filtered by tag and paged;
// open one to browse its rows, or use it for the next stage.
import { Plus, Search, X } from "lucide-react";
import { useEffect, useState } from "react";
import { Link, useLocation, useSearchParams } from "react-router";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Button, Card, Empty, Field, Input, Loading, PageHeader, TABLE, TD, TH } from "../../components/ui";
import { fmtBytes, fmtInt, timeAgo } from "../../lib/format";
import { useWorkflow } from "../../lib/workflow";
import { useDatasets } from "./api/datasets";
import { TagList } from "./components/TagList";
import { useChooseDataset } from "./hooks/useChooseDataset";

const PAGE_SIZE = 20;

export function DatasetsPage() {
  const [params, setParams] = useSearchParams();
  const tag = params.get("tag") ?? "";
  const [typed, setTyped] = useState(tag);
  const [tokens, setTokens] = useState<string[]>([""]); // page tokens seen, for Previous
  const datasets = useDatasets({ tag, pageToken: tokens.at(-1), pageSize: PAGE_SIZE });
  const choose = useChooseDataset();
  const picked = useWorkflow().dataset?.uid;
  const deleted = (useLocation().state as { deleted?: string } | null)?.deleted;

  useEffect(() => setTyped(tag), [tag]);
  const filter = (value: string) => {
    const next = new URLSearchParams(params);
    if (value.trim()) next.set("tag", value.trim());
    else next.delete("tag");
    setParams(next, { replace: true });
    setTokens([""]);
  };
  const page = tokens.length;
  const list = datasets.data?.datasets ?? [];
  const first = (page - 1) * PAGE_SIZE + 1;

  return (
    <>
      <PageHeader title="Datasets" description="Every saved dataset of input/output pairs, newest first. Pick one to train on, or upload a new one."
        actions={<Link to="/datasets/new" className="inline-flex items-center gap-1.5 rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600">
          <Plus className="size-4" aria-hidden /> Upload New Dataset
        </Link>} />
      {deleted && <p role="status" className="mb-4 rounded-md bg-slate-100 p-3 text-sm text-slate-800 ring-1 ring-slate-200">Deleted “{deleted}”.</p>}
      <Card>
        <form role="search" aria-label="Filter datasets" className="mb-4 flex flex-wrap items-end gap-2" onSubmit={(e) => {
          e.preventDefault();
          filter(typed);
        }}>
          <Field label="Tag" className="w-56">
            {(p) => <Input {...p} value={typed} placeholder="e.g. support" onChange={(e) => setTyped(e.target.value)} />}
          </Field>
          <Button type="submit" icon={<Search className="size-4" aria-hidden />}>Filter</Button>
          {tag && <Button variant="ghost" icon={<X className="size-4" aria-hidden />} onClick={() => filter("")}>Show all</Button>}
        </form>
        {datasets.isPending ? <Loading label="Loading datasets…" /> : datasets.isError ? (
          <ErrorMessage title="Could not list the datasets" error={datasets.error} onRetry={() => void datasets.refetch()} />
        ) : !list.length ? (
          <Empty title={tag ? `No dataset is tagged “${tag}”.` : "No dataset yet."}>
            {tag ? <button type="button" className="text-indigo-700 underline" onClick={() => filter("")}>Show every dataset</button>
              : <Link className="text-indigo-700 underline" to="/datasets/new">Upload the first one</Link>}
          </Empty>
        ) : (
          <>
            <div className="overflow-x-auto">
              <table className={TABLE} aria-busy={datasets.isFetching || undefined}>
                <caption className="sr-only">{tag ? `Datasets tagged ${tag}` : "Datasets"}</caption>
                <thead>
                  <tr>
                    <th scope="col" className={TH}>Dataset</th>
                    <th scope="col" className={TH}>Tags</th>
                    <th scope="col" className={TH}>Train / validation rows</th>
                    <th scope="col" className={TH}>File</th>
                    <th scope="col" className={TH}>Created</th>
                    <th scope="col" className={TH}><span className="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {list.map((ds) => (
                    <tr key={ds.uid}>
                      <td className={TD}>
                        <Link to={`/datasets/${ds.uid}`} className="font-medium text-indigo-700 hover:underline">{ds.display_name || ds.uid}</Link>
                        <div className="font-mono text-xs text-slate-500">{ds.uid}</div>
                        {ds.description && <div className="mt-0.5 line-clamp-2 max-w-md text-xs text-slate-600">{ds.description}</div>}
                      </td>
                      <td className={TD}><TagList tags={ds.tags} onPick={filter} /></td>
                      <td className={`${TD} tabular-nums`}>{fmtInt(ds.train_rows)} / {fmtInt(ds.validation_rows ?? 0)}</td>
                      <td className={`${TD} text-xs text-slate-600`}>
                        <div className="max-w-48 truncate" title={ds.filename}>{ds.filename}</div>
                        <div>{(ds.format || "").toUpperCase()} · {fmtBytes(ds.size_bytes)}</div>
                      </td>
                      <td className={`${TD} text-xs text-slate-600`} title={ds.create_time}>{timeAgo(ds.create_time)}</td>
                      <td className={`${TD} text-right`}>
                        {picked === ds.uid ? <span className="text-xs font-medium text-emerald-800">In use</span> : (
                          <Button onClick={() => choose(ds)} aria-label={`Use ${ds.display_name || ds.uid}`}>Use</Button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="mt-3 flex flex-wrap items-center justify-between gap-2 text-sm text-slate-600">
              <span role="status">
                {fmtInt(first)}–{fmtInt(first + list.length - 1)} of {fmtInt(datasets.data?.total_size ?? list.length)} dataset(s){tag ? ` tagged “${tag}”` : ""}
              </span>
              <div className="flex gap-2">
                <Button disabled={page < 2} onClick={() => setTokens((t) => t.slice(0, -1))}>Previous page</Button>
                <Button disabled={!datasets.data?.next_page_token} onClick={() => setTokens((t) => [...t, datasets.data!.next_page_token!])}>Next page</Button>
              </div>
            </div>
          </>
        )}
      </Card>
    </>
  );
}
