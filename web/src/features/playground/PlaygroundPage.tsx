// Playground: a completed job's model answers a prompt, streamed token by token; with a second model, both
// answer the same prompt side by side (the guide's A/B testing). The models picked live in the URL
// (/playground?job=a&b=b), so a job's page can link here.
import { Play, Square } from "lucide-react";
import { useMemo, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Button, Card, Empty, Field, Input, Loading, PageHeader, Select, Textarea } from "../../components/ui";
import { useJobList } from "../../hooks/useJobList";
import type { Job } from "../../lib/api";
import { idOf } from "../../lib/format";
import { useEnsembles } from "../sweeps/api/ensembles";
import { generateField } from "./api/generate";
import { OutputPanel } from "./components/OutputPanel";
import { useGeneration, type Generation } from "./hooks/useGeneration";

const MAX_NEW_TOKENS = 4096;

function jobLabel(j: Job): string {
  const id = j.job_uid || idOf(j.name);
  const saved = j.model_saving?.save_model && j.model_saving.model_name ? ` as finetune-models/${j.model_saving.model_name}` : "";
  return `${j.display_name || id}${saved} (${j.configuration?.model?.uid ?? "model"}, ${id})`;
}

export function PlaygroundPage() {
  const completed = useJobList({ state: "JOB_STATE_COMPLETED" });
  const ensembleList = useEnsembles();  // those with a completed member answer by majority vote (not streamed)
  const ensembles = useMemo(() => (ensembleList.data?.ensembles ?? []).filter((e) => e.state === "completed" ||
    e.members?.some((m) => m.state === "JOB_STATE_COMPLETED")), [ensembleList.data]);
  const [params, setParams] = useSearchParams();
  const jobs = useMemo(() => completed.data?.jobs ?? [], [completed.data]);
  const a = params.get("job") ?? (jobs[0] ? jobs[0].job_uid || idOf(jobs[0].name) : "");
  const b = params.get("b") ?? "";
  const genA = useGeneration();
  const genB = useGeneration();
  // Another model: its panel starts empty (the text there was the previous model's).
  const pick = (key: "job" | "b", value: string) => {
    (key === "job" ? genA : genB).reset();
    setParams((p) => {
      const q = new URLSearchParams(p);
      if (key === "job" && !q.has("job") && a) q.set("job", a);
      if (value) q.set(key, value);
      else q.delete(key);
      return q;
    }, { replace: true });
  };

  const [prompt, setPrompt] = useState("");
  const [maxNewTokens, setMaxNewTokens] = useState("64");
  const [temperature, setTemperature] = useState("0");
  const streaming = genA.generation.status === "streaming" || genB.generation.status === "streaming";

  const generate = (event?: FormEvent) => {
    event?.preventDefault();
    const body = { prompt, max_new_tokens: Number(maxNewTokens), temperature: Number(temperature) };
    if (a) void genA.start(a, body);
    if (b) void genB.start(b, body);
    else genB.reset();
  };
  const stop = () => {
    genA.stop();
    genB.stop();
  };
  // A field's error from either stream, shown at the field.
  const errorAt = (field: string) =>
    [genA.generation, genB.generation].map((g) => g.error).find((e) => e && generateField(e) === field)?.message;
  const nameOf = (id: string) => {
    const e = ensembles.find((x) => x.name === id);
    if (e) return `${e.display_name || id} (ensemble of ${e.size})`;
    const j = jobs.find((x) => (x.job_uid || idOf(x.name)) === id);
    return j?.display_name || id;
  };
  const panels: [string, string, Generation][] = [["A", a, genA.generation]];
  if (b) panels.push(["B", b, genB.generation]);

  const options = (picked: string) => {
    const known = jobs.some((j) => (j.job_uid || idOf(j.name)) === picked) || ensembles.some((e) => e.name === picked);
    return (
      <>
        {picked && !known && <option value={picked}>{picked} (not a completed job)</option>}
        {jobs.map((j) => {
          const id = j.job_uid || idOf(j.name);
          return <option key={id} value={id}>{jobLabel(j)}</option>;
        })}
        {ensembles.length > 0 && (
          <optgroup label="Ensembles (majority vote)">
            {ensembles.map((e) => <option key={e.name} value={e.name}>{nameOf(e.name ?? "")}</option>)}
          </optgroup>
        )}
      </>
    );
  };

  return (
    <div className="flex flex-col gap-5">
      <PageHeader title="Playground"
        description="Try a fine-tuned model: its answer streams in as it is generated. Pick a second model to compare the two on the same prompt (A/B testing)." />
      {completed.isPending ? (
        <Loading label="Loading the completed jobs…" />
      ) : completed.isError ? (
        <ErrorMessage error={completed.error} title="Could not list the completed jobs" onRetry={() => void completed.refetch()} />
      ) : !jobs.length && !a ? (
        <Empty title="No completed job yet">
          A job's model can be tried here once it has finished training. <Link className="text-indigo-700 underline" to="/jobs/new">Create a job</Link>{" "}
          or watch <Link className="text-indigo-700 underline" to="/jobs">the running ones</Link>.
        </Empty>
      ) : (
        <>
          <Card title="Prompt and settings">
            <form onSubmit={generate} noValidate className="flex flex-col gap-4">
              <div className="grid gap-4 md:grid-cols-2">
                <Field label="Model A" help="A completed job's fine-tuned model, or an ensemble (its members vote).">
                  {(p) => <Select {...p} value={a} onChange={(e) => pick("job", e.target.value)} disabled={streaming}>{options(a)}</Select>}
                </Field>
                <Field label="Model B (side by side)" help="Optional: a second model answers the same prompt at the same time.">
                  {(p) => (
                    <Select {...p} value={b} onChange={(e) => pick("b", e.target.value)} disabled={streaming}>
                      <option value="">None: one model</option>
                      {options(b)}
                    </Select>
                  )}
                </Field>
              </div>
              <Field label="Prompt" help="Formatted with the same template as the training inputs. Ctrl+Enter generates."
                error={errorAt("prompt")}>
                {(p) => <Textarea {...p} rows={4} value={prompt} onChange={(e) => setPrompt(e.target.value)}
                  onKeyDown={(e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !streaming) generate(); }}
                  placeholder="How do I reset my password?" />}
              </Field>
              <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
                <Field label="Max new tokens" help={`1 to ${MAX_NEW_TOKENS}.`} error={errorAt("max_new_tokens")}>
                  {(p) => <Input {...p} type="number" min={1} max={MAX_NEW_TOKENS} step={1} value={maxNewTokens}
                    onChange={(e) => setMaxNewTokens(e.target.value)} />}
                </Field>
                <Field label="Temperature" help="0 to 10; 0 takes the most likely token each time (the same answer every time)."
                  error={errorAt("temperature")}>
                  {(p) => <Input {...p} type="number" min={0} max={10} step={0.1} value={temperature}
                    onChange={(e) => setTemperature(e.target.value)} />}
                </Field>
              </div>
              <div className="flex gap-2">
                <Button type="submit" variant="primary" icon={<Play className="size-4" aria-hidden />} busy={streaming} disabled={!a}>
                  Generate
                </Button>
                <Button variant="danger" icon={<Square className="size-4" aria-hidden />} onClick={stop} disabled={!streaming}>Stop</Button>
              </div>
            </form>
          </Card>
          <div className={panels.length > 1 ? "grid gap-5 lg:grid-cols-2" : "grid gap-5"}>
            {panels.map(([slot, id, g]) => <OutputPanel key={slot} slot={slot} jobId={id} jobName={nameOf(id)} generation={g} />)}
          </div>
        </>
      )}
    </div>
  );
}
