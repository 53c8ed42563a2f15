// Stage 1 of the guide, "Upload New Dataset": choose or drop a file, review its preview and validation results
// (each problem with its rows and what to fix), repair it or choose it again, then save it with a name and tags.
import { ArrowLeft, FileText, RotateCcw, Save, Wand2 } from "lucide-react";
import { useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Badge, Button, Card, Field, Input, Loading, PageHeader, Textarea } from "../../components/ui";
import { asApiError } from "../../lib/errors";
import { fmtBytes, fmtInt } from "../../lib/format";
import { PREVIEW_ROWS, usePreview, useUploadDataset } from "./api/datasets";
import { DropZone } from "./components/DropZone";
import { IssuesList } from "./components/IssuesList";
import { RepairSummary } from "./components/RepairSummary";
import { RowsTable } from "./components/RowsTable";
import { StatisticsPanel } from "./components/StatisticsPanel";
import { retryable } from "./retryable";
import { parseTags } from "./tags";

const REASON_FIELDS: Record<string, string> = {
  INVALID_DISPLAY_NAME: "name",
  INVALID_TAG: "tags",
  INVALID_VALIDATION_FRACTION: "validation_fraction",
};

/** An upload error's message when it is about `field` (by the field it names or by its reason). */
function errorAbout(error: unknown, field: string): string | undefined {
  if (!error) return undefined;
  const e = asApiError(error);
  return e.isAbout(field) || REASON_FIELDS[e.reason] === field ? e.message : undefined;
}

function baseName(filename: string): string {
  return filename.replace(/\.[^.]+$/, "");
}

export function UploadDatasetPage() {
  const navigate = useNavigate();
  const preview = usePreview();
  const upload = useUploadDataset();
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [tags, setTags] = useState("");
  const [fraction, setFraction] = useState("0.1");

  const choose = (chosen: File) => {
    setFile(chosen);
    setName((n) => (n && file && n !== baseName(file.name) ? n : baseName(chosen.name)));
    upload.reset();
    preview.mutate({ file: chosen });
  };
  const check = (repair: boolean) => file && preview.mutate({ file, repair });

  const data = preview.data;
  const repaired = !!preview.variables?.repair && !!data;
  const issues = data?.issues ?? [];
  const errors = issues.filter((i) => i.severity === "error");
  const missingColumn = errors.some((i) => i.code === "MISSING_COLUMN");
  const flagged = useMemo(() => new Set(errors.flatMap((i) => i.rows ?? [])), [errors]);
  const split = Number(fraction);
  const splitError = !Number.isFinite(split) || split < 0 || split > 0.5 ? "Enter a fraction from 0 (no validation split) to 0.5." : undefined;
  const totalRows = data?.statistics?.total_rows ?? 0;
  const held = split > 0 && totalRows > 1 ? Math.min(totalRows - 1, Math.max(1, Math.floor(totalRows * split))) : 0;
  const uploadError = upload.error;
  const fieldMessage = (field: string) => errorAbout(uploadError, field);
  const generalError = uploadError && !Object.values(REASON_FIELDS).some((f) => fieldMessage(f)) ? uploadError : null;

  const save = () => {
    if (!file || splitError || errors.length) return;
    upload.mutate(
      { file, repair: repaired, name: name.trim() || file.name, description: description.trim(), tags: parseTags(tags), validationFraction: split },
      { onSuccess: (dataset) => navigate(`/datasets/${dataset.uid}`, { state: { saved: true } }) },
    );
  };

  return (
    <>
      <PageHeader title="Upload a dataset"
        description="Choose a CSV, TSV or JSONL file with input and output columns, review the preview and the validation results, then save it with a descriptive name and tags."
        actions={<Link to="/datasets" className="inline-flex items-center gap-1 text-sm font-medium text-indigo-700 hover:underline">
          <ArrowLeft className="size-4" aria-hidden /> All datasets</Link>} />

      {!file ? (
        <Card title="Dataset file"><DropZone onFile={choose} /></Card>
      ) : (
        <div className="space-y-5">
          <Card title="Dataset file">
            <div className="flex flex-wrap items-center gap-4">
              <div className="flex min-w-0 flex-1 items-center gap-2">
                <FileText className="size-5 shrink-0 text-slate-500" aria-hidden />
                <span className="truncate font-medium text-slate-900" data-testid="chosen-file">{file.name}</span>
                <span className="text-sm text-slate-600">{fmtBytes(file.size)}</span>
                {data?.format && <Badge>{data.format.toUpperCase()}</Badge>}
                {data?.encoding && <Badge>{data.encoding}</Badge>}
                {data?.delimiter && <Badge>delimiter {data.delimiter === "\t" ? "tab" : `"${data.delimiter}"`}</Badge>}
              </div>
              <div className="w-full sm:w-96"><DropZone compact onFile={choose} disabled={preview.isPending} /></div>
            </div>
          </Card>

          {preview.isPending ? (
            <Loading label={`Checking ${file.name}…`} />
          ) : preview.isError ? (
            <ErrorMessage title={`Could not read ${file.name}`} error={preview.error}
              onRetry={retryable(preview.error) ? () => check(!!preview.variables?.repair) : undefined} />
          ) : data ? (
            <>
              <Card title="Validation">
                {repaired && data.repair && <div className="mb-4"><RepairSummary repair={data.repair} /></div>}
                <IssuesList issues={issues} />
                {errors.length > 0 && !repaired && (
                  <div className="mt-4 rounded-md bg-slate-50 p-3 text-sm ring-1 ring-slate-200">
                    <p className="font-medium text-slate-900">How to fix this</p>
                    {missingColumn ? (
                      <p className="mt-1 text-slate-700">A repair cannot add a missing column: fix the header in the file, then choose it again above.</p>
                    ) : (
                      <>
                        <p className="mt-1 text-slate-700">
                          Repair removes blank rows and duplicates and trims whitespace around input and output; you see what it changed before saving.
                          Or edit the file and choose it again above.
                        </p>
                        <Button className="mt-2" variant="primary" icon={<Wand2 className="size-4" aria-hidden />} onClick={() => check(true)}>
                          Repair automatically
                        </Button>
                      </>
                    )}
                  </div>
                )}
                {repaired && (
                  <Button className="mt-3" variant="ghost" icon={<RotateCcw className="size-4" aria-hidden />} onClick={() => check(false)}>
                    Undo the repair
                  </Button>
                )}
              </Card>

              <Card title={`Preview: first ${fmtInt(Math.min(PREVIEW_ROWS, totalRows))} of ${fmtInt(totalRows)} ${repaired ? "repaired " : ""}rows`}>
                {data.data?.length ? (
                  <RowsTable caption={`First rows of ${file.name}`} columns={data.columns ?? []} flagged={flagged}
                    rows={(data.data ?? []).map((cells, i) => ({ number: i + 1, cells: cells as Record<string, unknown> }))} />
                ) : (
                  <p className="text-sm text-slate-600">The file has no data rows.</p>
                )}
              </Card>

              <Card title="Statistics (over every row)">
                <StatisticsPanel statistics={data.statistics} />
              </Card>

              <Card title="Save the dataset">
                <form className="grid gap-4 md:grid-cols-2" onSubmit={(e) => {
                  e.preventDefault();
                  save();
                }}>
                  <Field label="Name" error={fieldMessage("name")} help="A descriptive name, e.g. Customer support v2.">
                    {(p) => <Input {...p} value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />}
                  </Field>
                  <Field label="Tags" error={fieldMessage("tags")} help="Comma-separated, e.g. support, english. Lists can be filtered by tag.">
                    {(p) => <Input {...p} value={tags} onChange={(e) => setTags(e.target.value)} placeholder="support, english" />}
                  </Field>
                  <Field label="Description" className="md:col-span-2">
                    {(p) => <Textarea {...p} rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />}
                  </Field>
                  <Field label="Validation split (fraction of rows)" error={splitError ?? fieldMessage("validation_fraction")}
                    help={held ? `≈ ${fmtInt(held)} of ${fmtInt(totalRows)} rows held out for validation, shuffled.` : "No validation split: every row trains."}>
                    {(p) => <Input {...p} type="number" min={0} max={0.5} step={0.05} value={fraction} onChange={(e) => setFraction(e.target.value)} />}
                  </Field>
                  <div className="flex flex-col justify-end gap-2 md:col-span-2">
                    {generalError && <ErrorMessage title="The dataset was not saved" error={generalError} />}
                    {errors.length > 0 && (
                      <p className="text-sm text-red-800" role="status">Fix the {errors.length === 1 ? "error" : "errors"} above before saving.</p>
                    )}
                    <div>
                      <Button type="submit" variant="primary" busy={upload.isPending} disabled={errors.length > 0 || !!splitError}
                        icon={<Save className="size-4" aria-hidden />}>
                        Save dataset
                      </Button>
                    </div>
                  </div>
                </form>
              </Card>
            </>
          ) : null}
        </div>
      )}
    </>
  );
}
