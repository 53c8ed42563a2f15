// Stage 4.1: review the configuration, name the job, choose what to do with the model, and submit it.
// The whole request is checked as you type (validate_only), so every problem shows next to its field first.
import { Rocket } from "lucide-react";
import { useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { ErrorMessage, fieldError } from "../../components/ErrorMessage";
import { Button, Card, Field, Input, PageHeader, Select, Textarea, TABLE, TD, TH } from "../../components/ui";
import { useDebounced } from "../../hooks/useDebounced";
import { asApiError } from "../../lib/errors";
import { fmtNumber, idOf } from "../../lib/format";
import { updateWorkflow, useWorkflow } from "../../lib/workflow";
import { useDatasets } from "../datasets/api/datasets";
import { useCreateJob, useJobCheck, type CreateJobRequest } from "./api/createJob";

const BUILTIN = "finetune-builtin/tiny-llama-3m";
type Priority = NonNullable<CreateJobRequest["priority"]>;

export function CreateJobPage() {
  const wf = useWorkflow();
  const navigate = useNavigate();
  const datasets = useDatasets({ pageSize: 200 });
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [tags, setTags] = useState("");
  const [priority, setPriority] = useState<Priority>("JOB_PRIORITY_MEDIUM");
  const [timeoutMinutes, setTimeoutMinutes] = useState("");
  const [gpus, setGpus] = useState("0");
  const [saveModel, setSaveModel] = useState(true);
  const [modelName, setModelName] = useState("");
  const [pushToHub, setPushToHub] = useState(false);
  const [makePublic, setMakePublic] = useState(false);
  const [hubToken, setHubToken] = useState("");
  const datasetUid = wf.dataset?.uid ?? "";
  const modelUid = wf.model?.uid ?? BUILTIN;

  const body: CreateJobRequest = useMemo(() => ({
    name: name.trim(),
    description: description.trim(),
    tags: tags.split(",").map((t) => t.trim()).filter(Boolean),
    configuration: {
      model: { uid: modelUid, name: wf.model?.name ?? "" },
      dataset: { uid: datasetUid, name: wf.dataset?.name ?? "" },
      hyperparameters: wf.configuration?.hyperparameters ?? {},
    },
    model_saving: { save_model: saveModel, model_name: modelName.trim(), push_to_hub: pushToHub, make_public: makePublic,
      hub_token: pushToHub ? hubToken : "" },
    priority,
    timeout: timeoutMinutes ? `${Math.round(Number(timeoutMinutes) * 60)}s` : undefined,
    gpu_count: Number(gpus) || 0,
  }), [name, description, tags, modelUid, datasetUid, wf, saveModel, modelName, pushToHub, makePublic, hubToken, priority, timeoutMinutes, gpus]);

  const settled = useDebounced(body, 400);
  const check = useJobCheck(settled, Boolean(datasetUid && settled.name));
  const create = useCreateJob();
  const problem = create.error ?? check.error;
  const preview = check.data;
  const hp = preview?.configuration?.hyperparameters ?? wf.configuration?.hyperparameters ?? {};
  const fieldProblem = (field: string) => fieldError(problem, field);
  const otherProblem = problem && !["name", "description", "tags", "model_saving", "timeout", "gpu_count", "dataset", "model"]
    .some((f) => asApiError(problem).isAbout(f)) ? problem : undefined;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const job = await create.mutateAsync(body).catch(() => undefined);
    if (job) navigate(`/jobs/${job.job_uid || idOf(job.name)}`);
  };

  return (
    <>
      <PageHeader title="Create a job" description="Review the configuration, name the job and submit it. Nothing runs until you submit." />
      <form onSubmit={submit} className="grid gap-5 xl:grid-cols-[minmax(0,1fr)_24rem]" aria-label="New job">
        <div className="flex flex-col gap-5">
          <Card title="What to train">
            <div className="grid gap-4 md:grid-cols-2">
              <Field label="Dataset" error={fieldProblem("dataset")}
                help={<>Pick one here or on <Link className="underline" to="/datasets">Datasets</Link>.</>}>
                {(p) => (
                  <Select {...p} value={datasetUid} required onChange={(e) => {
                    const found = datasets.data?.datasets?.find((d) => d.uid === e.target.value);
                    updateWorkflow({ dataset: found ? { uid: found.uid ?? "", name: found.display_name || found.uid || "" } : undefined });
                  }}>
                    <option value="">Choose a dataset…</option>
                    {datasets.data?.datasets?.map((d) => (
                      <option key={d.uid} value={d.uid}>{d.display_name || d.uid} ({d.train_rows} rows)</option>
                    ))}
                  </Select>
                )}
              </Field>
              <Field label="Base model" error={fieldProblem("model")}
                help={<>Chosen on <Link className="underline" to="/models">Models</Link>; the built-in tiny model by default.</>}>
                {(p) => <Input {...p} value={modelUid} onChange={(e) => updateWorkflow({ model: { uid: e.target.value.trim(), name: "" } })} />}
              </Field>
            </div>
            {datasets.isError && <div className="mt-3"><ErrorMessage title="Could not list datasets" error={datasets.error} /></div>}
          </Card>

          <Card title="Job">
            <div className="grid gap-4 md:grid-cols-2">
              <Field label="Job name" error={fieldProblem("name")}>
                {(p) => <Input {...p} required value={name} placeholder="Customer Support Fine-tuning" onChange={(e) => setName(e.target.value)} />}
              </Field>
              <Field label="Tags" help="Comma-separated, for filtering lists." error={fieldProblem("tags")}>
                {(p) => <Input {...p} value={tags} placeholder="customer-support, llama" onChange={(e) => setTags(e.target.value)} />}
              </Field>
              <Field label="Description" className="md:col-span-2" error={fieldProblem("description")}>
                {(p) => <Textarea {...p} rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />}
              </Field>
              <Field label="Priority" help="Higher priorities leave the queue first.">
                {(p) => (
                  <Select {...p} value={priority} onChange={(e) => setPriority(e.target.value as Priority)}>
                    <option value="JOB_PRIORITY_HIGH">High</option>
                    <option value="JOB_PRIORITY_MEDIUM">Medium</option>
                    <option value="JOB_PRIORITY_LOW">Low</option>
                  </Select>
                )}
              </Field>
              <Field label="Timeout (minutes)" help="Longest training time, paused and queued time excluded. Empty: none."
                error={fieldProblem("timeout")}>
                {(p) => <Input {...p} type="number" min={1} step="any" value={timeoutMinutes} onChange={(e) => setTimeoutMinutes(e.target.value)} />}
              </Field>
              <Field label="GPUs" help="0 trains on the CPU." error={fieldProblem("gpu_count")}>
                {(p) => <Input {...p} type="number" min={0} step={1} value={gpus} onChange={(e) => setGpus(e.target.value)} />}
              </Field>
            </div>
          </Card>

          <Card title="Model saving">
            <div className="grid gap-4 md:grid-cols-2">
              <label className="flex items-center gap-2 text-sm">
                <input type="checkbox" className="size-4 accent-indigo-600" checked={saveModel} onChange={(e) => setSaveModel(e.target.checked)} />
                Save the fine-tuned model (the LoRA merged into the base weights)
              </label>
              <Field label="Model name" error={fieldProblem("model_saving.model_name")} help="e.g. customer-support-llama-v1">
                {(p) => <Input {...p} value={modelName} disabled={!saveModel} onChange={(e) => setModelName(e.target.value)} />}
              </Field>
              <label className="flex items-center gap-2 text-sm">
                <input type="checkbox" className="size-4 accent-indigo-600" checked={pushToHub} disabled={!saveModel}
                  onChange={(e) => setPushToHub(e.target.checked)} />
                Push to the Hugging Face Hub
              </label>
              <label className="flex items-center gap-2 text-sm">
                <input type="checkbox" className="size-4 accent-indigo-600" checked={makePublic} disabled={!pushToHub}
                  onChange={(e) => setMakePublic(e.target.checked)} />
                Make the repository public
              </label>
              {pushToHub && (
                <Field label="Hub token" help="Used for this push only; never stored with the job or shown again."
                  error={fieldProblem("model_saving.hub_token")} className="md:col-span-2">
                  {(p) => <Input {...p} type="password" autoComplete="off" value={hubToken} onChange={(e) => setHubToken(e.target.value)} />}
                </Field>
              )}
            </div>
          </Card>
        </div>

        <div className="flex flex-col gap-5">
          <Card title="Review" actions={<Link className="text-sm text-indigo-700 underline" to="/configure">Change</Link>}>
            <p className="mb-2 text-sm text-slate-600">
              {wf.configuration ? <>Configuration <span className="font-mono">{preview?.configuration?.hyperparameters?.uid || wf.configuration.uid || "(unsaved)"}</span></>
                : preview ? "No configuration chosen: the defaults below, as the trainer fills them in." : "No configuration chosen: the defaults show here once a dataset is chosen."}
            </p>
            <table className={TABLE} aria-label="Hyperparameters">
              <thead><tr><th className={TH}>Parameter</th><th className={TH}>Value</th></tr></thead>
              <tbody className="divide-y divide-slate-100">
                {Object.entries(hp).filter(([k]) => k !== "uid").map(([k, v]) => (
                  <tr key={k}>
                    <td className={`${TD} font-mono text-xs`}>{k}</td>
                    <td className={`${TD} tabular-nums`}>{Array.isArray(v) ? v.join(", ") : typeof v === "number" ? fmtNumber(v, 6) : String(v)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {preview?.warnings?.length ? (
              <ul className="mt-3 flex flex-col gap-1 text-xs text-amber-900" aria-label="Warnings">
                {preview.warnings.map((w, i) => <li key={i} className="rounded bg-amber-50 px-2 py-1">{w.field ? `${w.field}: ` : ""}{w.message}</li>)}
              </ul>
            ) : null}
            {preview?.metrics?.dataset_rows ? (
              <p className="mt-2 text-xs text-slate-600">{preview.metrics.dataset_rows} training rows · {preview.metrics.total_steps || "?"} steps</p>
            ) : null}
          </Card>
          {otherProblem && <ErrorMessage title="This job cannot be created yet" error={otherProblem} />}
          {!datasetUid && <p className="text-sm text-slate-600" role="status">Choose a dataset to check the job.</p>}
          <Button type="submit" variant="primary" busy={create.isPending} disabled={!datasetUid || !name.trim()}
            icon={<Rocket className="size-4" aria-hidden />}>
            Create job
          </Button>
        </div>
      </form>
    </>
  );
}
