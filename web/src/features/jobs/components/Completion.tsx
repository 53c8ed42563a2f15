// When the run is done: final metrics, sample generations beside their expected outputs, the artifacts to
// download, and the guide's inference snippet with this job's real path.
import { Copy, Download } from "lucide-react";
import { useState } from "react";
import { ErrorMessage } from "../../../components/ErrorMessage";
import { Button, Card, Loading, Stat, TABLE, TD, TH } from "../../../components/ui";
import { downloadArtifact, type Job } from "../../../lib/api";
import { fmtBytes, fmtDuration, fmtInt, fmtNumber, num } from "../../../lib/format";
import type { RunSeries } from "../../../lib/runSeries";
import { useSeriesVersion } from "../../../hooks/useSeriesVersion";
import { useArtifacts, useFinalMetrics, type FinalMetrics, type Sample } from "../api/jobs";

export function inferenceSnippet(modelDir: string, merged: boolean): string {
  const load = merged
    ? `from transformers import AutoTokenizer, AutoModelForCausalLM

# Load fine-tuned model
tokenizer = AutoTokenizer.from_pretrained("${modelDir}")
model = AutoModelForCausalLM.from_pretrained("${modelDir}")`
    : `from peft import AutoPeftModelForCausalLM
from transformers import AutoTokenizer

# Load the base model with this job's LoRA adapter
tokenizer = AutoTokenizer.from_pretrained("${modelDir}")
model = AutoPeftModelForCausalLM.from_pretrained("${modelDir}")`;
  return `${load}

# Test inference, with the prompt template the job trained on
input_text = "How do I reset my password?"
prompt = f"### Input:\\n{input_text}\\n\\n### Response:\\n"
if tokenizer.chat_template:
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": input_text}], add_generation_prompt=True, tokenize=False)
inputs = tokenizer(prompt, return_tensors="pt")
outputs = model.generate(**inputs, max_new_tokens=100)
response = tokenizer.decode(outputs[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)
print(response)
`;
}

function Snippet({ job, hasModel }: { job: Job; hasModel: boolean }) {
  const [copied, setCopied] = useState(false);
  const dir = job.output_dir || "<the job's artifacts folder>";
  const code = inferenceSnippet(`${dir}/${hasModel ? "model" : "adapter"}`, hasModel);
  return (
    <Card title="Use the model" actions={
      <Button icon={<Copy className="size-4" aria-hidden />} onClick={() => void navigator.clipboard?.writeText(code).then(() => setCopied(true))}>
        {copied ? "Copied" : "Copy"}
      </Button>}>
      <p className="mb-2 text-sm text-slate-600">
        The guide's quick inference test, pointing at this job's {hasModel ? "merged model" : "adapter"} on the trainer's machine.
      </p>
      <pre className="overflow-x-auto rounded bg-slate-950 p-3 text-xs leading-relaxed text-slate-100" tabIndex={0} aria-label="Inference code"><code>{code}</code></pre>
    </Card>
  );
}

export function Completion({ job, series }: { job: Job; series: RunSeries }) {
  const jobId = job.job_uid ?? "";
  useSeriesVersion(series, 500);
  const done = job.state === "JOB_STATE_COMPLETED";
  // The summary event carries the final metrics and the samples; runs from before it did read metrics.json.
  const fromEvent = series.summary as (FinalMetrics["summary"] & { samples?: Sample[] }) | undefined;
  const final = useFinalMetrics(jobId, done && !fromEvent?.samples);
  const artifacts = useArtifacts(jobId, done || job.state === "JOB_STATE_FAILED" || job.state === "JOB_STATE_CANCELLED");
  const [downloadError, setDownloadError] = useState<unknown>();
  const summary = fromEvent ?? final.data?.summary ?? {};
  const files = artifacts.data?.artifacts ?? [];
  const hasModel = files.some((f) => f.path?.startsWith("model/"));
  const samples = fromEvent?.samples ?? final.data?.summary?.samples ?? [];

  return (
    <div className="flex flex-col gap-5">
      {done && (
        <Card title="Final metrics">
          <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4 lg:grid-cols-8">
            <Stat label="Final train loss" value={fmtNumber(summary.final_train_loss, 4)} />
            <Stat label="Validation loss" value={fmtNumber(summary.final_validation_loss, 4)} />
            <Stat label="Perplexity" value={fmtNumber(summary.final_perplexity, 4)} />
            <Stat label="BLEU" value={fmtNumber(summary.bleu, 3)} hint={summary.bleu_rows ? `${summary.bleu_rows} ${summary.bleu_split} rows` : undefined} />
            <Stat label="Steps" value={fmtInt(summary.steps)} />
            <Stat label="Training time" value={fmtDuration(summary.elapsed_seconds)} />
            <Stat label="Tokens/s" value={fmtNumber(summary.tokens_per_second, 4)} />
            <Stat label="GPU hours" value={fmtNumber(num(job.metrics?.gpu_hours), 3)} />
          </dl>
          {final.isError && <div className="mt-3"><ErrorMessage title="Could not read metrics.json" error={final.error} /></div>}
        </Card>
      )}
      {done && (
        <Card title="Sample generations">
          {!fromEvent?.samples && final.isPending ? <Loading /> : samples.length === 0 ? (
            <p className="text-sm text-slate-600">No sample: the run had no rows with an expected output to generate for.</p>
          ) : (
            <div className="overflow-x-auto">
              <table className={TABLE} aria-label="Sample generations">
                <thead><tr><th className={TH}>Input</th><th className={TH}>Expected</th><th className={TH}>Generated</th></tr></thead>
                <tbody className="divide-y divide-slate-100">
                  {samples.map((s, i) => (
                    <tr key={i}>
                      <td className={`${TD} whitespace-pre-wrap`}>{s.input}</td>
                      <td className={`${TD} whitespace-pre-wrap`}>{s.expected}</td>
                      <td className={`${TD} whitespace-pre-wrap ${s.generated.trim() === s.expected.trim() ? "text-emerald-800" : ""}`}>
                        {s.generated.trim() ? s.generated : <span className="italic text-slate-600">(nothing: the model ended its answer at once)</span>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
      )}
      {artifacts.isFetched && (
        <Card title="Artifacts">
          {artifacts.isError ? <ErrorMessage title="Could not list the artifacts" error={artifacts.error} /> : files.length === 0 ? (
            <p className="text-sm text-slate-600">This run wrote no artifact.</p>
          ) : (
            <ul className="divide-y divide-slate-100" aria-label="Artifact files">
              {files.map((f) => (
                <li key={f.path} className="flex items-center justify-between gap-3 py-1.5 text-sm">
                  <span className="min-w-0 truncate font-mono text-xs">{f.path}</span>
                  <span className="flex items-center gap-3">
                    <span className="text-xs text-slate-500 tabular-nums">{fmtBytes(f.size_bytes)}</span>
                    <Button variant="ghost" aria-label={`Download ${f.path}`} icon={<Download className="size-4" aria-hidden />}
                      onClick={() => downloadArtifact(jobId, f.path ?? "").catch(setDownloadError)}>Download</Button>
                  </span>
                </li>
              ))}
            </ul>
          )}
          {downloadError ? <div className="mt-3"><ErrorMessage title="Download failed" error={downloadError} /></div> : null}
        </Card>
      )}
      {done && <Snippet job={job} hasModel={hasModel} />}
    </div>
  );
}
