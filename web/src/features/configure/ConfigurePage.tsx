// Stage 3: the hyperparameters. Manual mode sets every value (checked by the guide as you type); automated mode
// sets ranges and starts a grid or Bayesian sweep. "Load best configuration" fills in the best so far.
import { ArrowRight, FlaskConical, RotateCcw, Save, Trophy } from "lucide-react";
import { useMemo, useState } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Button, Card, Field, Input, Loading, PageHeader, cx } from "../../components/ui";
import { useDebounced } from "../../hooks/useDebounced";
import type { Configuration, Sweep } from "../../lib/api";
import { asApiError } from "../../lib/errors";
import { fmtNumber, idOf } from "../../lib/format";
import { updateWorkflow, useWorkflow } from "../../lib/workflow";
import { useCheckModel } from "../models/api/models";
import { MODE_ENUM, useCreateSweep, useDefaults, useLoadBest, useSaveConfiguration, useSavedConfiguration,
  useValidation, type Mode, type ValidateRequest } from "./api/configure";
import { ParameterForm } from "./components/ParameterForm";
import { RangesEditor } from "./components/RangesEditor";
import { SummaryPanel } from "./components/SummaryPanel";
import { DEFAULT_SWEEP, SweepSettings, type SweepSettingsValue } from "./components/SweepSettings";
import { TrainingContext } from "./components/TrainingContext";
import { errorFields, issuesByField, messageFor, type Issue } from "./issues";
import { PARAMETERS, PARAM_KEYS, fromForm, toForm, type FormValues, type ParamKey } from "./parameters";
import { gridPoints, newRow, toRange, type RangeRow } from "./ranges";

export function ConfigurePage() {
  const [params] = useSearchParams();
  const uid = params.get("configuration");
  const defaults = useDefaults();
  const saved = useSavedConfiguration(uid);
  const wf = useWorkflow();
  if (defaults.error || saved.error) {
    return (
      <>
        <PageHeader title="Configure" />
        <ErrorMessage error={defaults.error ?? saved.error} title={saved.error ? `Configuration ${uid} could not be loaded` : "The parameters' defaults could not be loaded"}
          onRetry={() => (saved.error ? saved.refetch() : defaults.refetch())} />
      </>
    );
  }
  if (!defaults.data || (uid && !saved.data)) return <Loading label={uid ? `Loading configuration ${uid}…` : "Loading the parameters' defaults…"} />;
  const initial = saved.data?.hyperparameters ?? wf.configuration?.hyperparameters;
  const initialMode: Mode = params.get("mode") === "automated" || saved.data?.mode === "CONFIGURATION_MODE_AUTOMATED" ? "automated" : "manual";
  return <ConfigureEditor key={uid ?? "workflow"} defaults={toForm(defaults.data)} initial={toForm({ ...defaults.data, ...initial })}
    initialMode={initialMode} loadedFrom={saved.data} />;
}

interface EditorProps {
  defaults: FormValues;
  initial: FormValues;
  initialMode: Mode;
  loadedFrom?: Configuration;
}

function ConfigureEditor({ defaults, initial, initialMode, loadedFrom }: EditorProps) {
  const navigate = useNavigate();
  const wf = useWorkflow();
  const [mode, setMode] = useState<Mode>(initialMode);
  const [values, setValues] = useState<FormValues>(initial);
  const [model, setModel] = useState(wf.model?.uid ?? "");
  const [dataset, setDataset] = useState(wf.dataset?.uid ?? "");
  const [rows, setRows] = useState<RangeRow[]>([newRow("learning_rate")]);
  const [sweep, setSweep] = useState<SweepSettingsValue>(DEFAULT_SWEEP);
  const [displayName, setDisplayName] = useState("");
  const [description, setDescription] = useState("");
  const [loaded, setLoaded] = useState<Configuration | undefined>(loadedFrom);

  const save = useSaveConfiguration();
  const best = useLoadBest();
  const createSweep = useCreateSweep();
  const check = useCheckModel(useDebounced(model, 400) || undefined);

  const automated = mode === "automated";
  const searched = useMemo(() => new Set(automated ? rows.map((r) => r.parameter) : []), [automated, rows]);
  const parsed = useMemo(() => fromForm(values, searched), [values, searched]);
  const request: ValidateRequest = { hyperparameters: parsed.hyperparameters, model: model || undefined,
    dataset: dataset || undefined, mode: MODE_ENUM[mode] };
  const settled = useDebounced(JSON.stringify(request), 300);
  const validation = useValidation(useMemo(() => JSON.parse(settled) as ValidateRequest, [settled]));
  const result = validation.data;

  const change = (key: ParamKey, value: string) => setValues((v) => ({ ...v, [key]: value }));
  const apply = (changes: Partial<Record<ParamKey, string>>) => setValues((v) => ({ ...v, ...changes }));

  // Every message next to its field: what the browser cannot send, the guide's errors, then a refused save or sweep.
  const refused = errorFields(automated ? createSweep.error : save.error);
  const errorIssues = issuesByField(result?.errors);
  const warningIssues = issuesByField(result?.warnings);
  const fieldErrors: Partial<Record<ParamKey, string>> = {};
  const fieldWarnings: Partial<Record<ParamKey, Issue[]>> = {};
  for (const key of PARAM_KEYS) {
    fieldErrors[key] = parsed.errors[key] ?? errorIssues.get(key)?.map((i) => i.message).join("; ")
      ?? messageFor(refused, `hyperparameters.${key}`);
    if (warningIssues.has(key)) fieldWarnings[key] = warningIssues.get(key);
  }
  const general = [...errorIssues, ...warningIssues].filter(([field]) => !(field in PARAMETERS)).flatMap(([, issues]) => issues);
  const clientErrors = Object.keys(parsed.errors).length;
  const impossible = clientErrors > 0 || (result?.errors?.length ?? 0) > 0;
  const uid = result?.normalized?.uid;

  const hints: Partial<Record<ParamKey, string>> = {};
  const targets = check.data?.lora_target_modules;
  if (targets?.length) hints.target_modules = `${model} has: ${targets.join(", ")}.`;

  const rangeResults = rows.map(toRange);
  const rangeErrors = rows.map((row, i) => {
    const r = rangeResults[i];
    return "error" in r ? r.error : messageFor(refused, `search_space.${row.parameter}`);
  });
  const gridSize = rows.length && rows.every((r) => gridPoints(r)) ? rows.reduce((n, r) => n * gridPoints(r)!, 1) : undefined;

  const onModel = (uid: string) => {
    setModel(uid);
    if (uid && uid !== wf.model?.uid) updateWorkflow({ model: { uid, name: uid } });
  };
  const onDataset = (uid: string, name: string) => {
    setDataset(uid);
    updateWorkflow({ dataset: uid ? { uid, name: name || uid } : undefined });
  };

  const configuration = (): Configuration => ({ mode: MODE_ENUM[mode], hyperparameters: parsed.hyperparameters,
    display_name: displayName.trim() || undefined, description: description.trim() || undefined });

  const loadBest = () => best.mutate(mode, {
    onSuccess: (c) => {
      setValues(toForm({ ...fromForm(defaults).hyperparameters, ...c.hyperparameters }));
      setLoaded(c);
    },
  });

  const onContinue = () => save.mutate(configuration(), {
    onSuccess: (c) => {
      updateWorkflow({ configuration: { uid: c.uid, hyperparameters: parsed.hyperparameters } });
      navigate("/jobs/new");
    },
  });

  const startSweep = () => {
    const ranges = rangeResults.flatMap((r) => ("range" in r ? [r.range] : []));
    const body: Sweep = {
      display_name: sweep.displayName.trim() || undefined,
      configuration: { model: { uid: model }, dataset: { uid: dataset }, hyperparameters: parsed.hyperparameters },
      search_space: ranges,
      algorithm: sweep.algorithm === "grid" ? "SEARCH_ALGORITHM_GRID" : "SEARCH_ALGORITHM_BAYESIAN",
      max_trials: Number(sweep.maxTrials) || 0,
      parallel_trials: Number(sweep.parallelTrials) || 1,
      pruning: sweep.pruning,
      seed: sweep.seed.trim() ? Number(sweep.seed) : undefined,
    };
    createSweep.mutate(body, { onSuccess: (s) => navigate(`/sweeps/${idOf(s.name)}`) });
  };

  const bestMissing = best.error && asApiError(best.error).status === 404;
  return (
    <>
      <PageHeader title="Configure"
        description="The guide's Stage 3: set every hyperparameter yourself (manual mode), or give ranges and let a sweep find the best values (automated mode). The guide's advice appears next to each value as you type."
        actions={
          <>
            <Button icon={<Trophy className="size-4" aria-hidden />} busy={best.isPending} onClick={loadBest}>Load best configuration</Button>
            <Button variant="ghost" icon={<RotateCcw className="size-4" aria-hidden />} onClick={() => { setValues(defaults); setLoaded(undefined); }}>
              Reset to defaults
            </Button>
          </>
        } />

      <div role="group" aria-label="Configuration mode" className="mb-4 inline-flex rounded-md bg-white p-0.5 shadow-sm ring-1 ring-slate-300">
        {(["manual", "automated"] as Mode[]).map((m) => (
          <button key={m} type="button" aria-pressed={mode === m} onClick={() => setMode(m)}
            className={cx("rounded px-3 py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-indigo-600",
              mode === m ? "bg-indigo-600 text-white" : "text-slate-700 hover:bg-slate-100")}>
            {m === "manual" ? "Manual mode" : "Automated mode (sweep)"}
          </button>
        ))}
      </div>

      {best.error ? (
        <div className="mb-4">
          <ErrorMessage error={best.error} title={bestMissing ? `No best ${mode} configuration yet` : "The best configuration could not be loaded"} />
        </div>
      ) : null}
      {loaded && (
        <p role="status" className="mb-4 rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900 ring-1 ring-emerald-200">
          Loaded configuration <span className="font-mono">{loaded.uid}</span>
          {loaded.display_name ? ` (${loaded.display_name})` : ""}
          {loaded.best_job ? `: validation loss ${fmtNumber(loaded.best_validation_loss, 4)} in job ${idOf(loaded.best_job)}` : ""}
          {loaded.completed_jobs ? `, ${loaded.completed_jobs} completed job${loaded.completed_jobs > 1 ? "s" : ""}` : ""}.
        </p>
      )}

      <div className="grid grid-cols-1 gap-4 xl:grid-cols-[minmax(0,1fr)_22rem]">
        <div className="flex min-w-0 flex-col gap-4">
          <TrainingContext model={model} onModel={onModel} dataset={dataset} onDataset={onDataset} needsValidation={automated}
            modelError={messageFor(refused, "model.uid")}
            datasetError={messageFor(refused, "dataset.uid") ?? (validation.error && asApiError(validation.error).reason === "DATASET_NOT_FOUND" ? asApiError(validation.error).message : undefined)} />
          {automated && (
            <Card title="Ranges to search">
              <p className="-mt-2 mb-3 text-sm text-slate-600">
                Each trial is a real job with one point of these ranges; every other value is fixed as set below.
              </p>
              <RangesEditor rows={rows} onChange={setRows} errors={rangeErrors} grid={sweep.algorithm === "grid"} />
              {messageFor(refused, "search_space") && <p role="alert" className="mt-2 text-xs font-medium text-red-700">{messageFor(refused, "search_space")}</p>}
            </Card>
          )}
          <ParameterForm values={values} defaults={defaults} onChange={change} errors={fieldErrors} warnings={fieldWarnings}
            searched={searched} hints={hints} />
        </div>

        <div className="flex flex-col gap-4 xl:sticky xl:top-4 xl:self-start">
          <SummaryPanel result={result} checking={validation.isFetching} error={validation.error} clientErrors={clientErrors}
            general={general} onApply={apply} />
          {automated ? (
            <Card title="Start a sweep">
              <SweepSettings value={sweep} onChange={setSweep} gridSize={gridSize}
                errors={{ maxTrials: messageFor(refused, "max_trials"), parallelTrials: messageFor(refused, "parallel_trials"),
                  algorithm: messageFor(refused, "algorithm") }} />
              {createSweep.error ? <div className="mt-3"><ErrorMessage error={createSweep.error} title="The sweep was not started" /></div> : null}
              <Button variant="primary" className="mt-4 w-full" icon={<FlaskConical className="size-4" aria-hidden />}
                busy={createSweep.isPending} disabled={impossible || !model || !dataset || rows.length === 0} onClick={startSweep}>
                Start sweep
              </Button>
              {(!model || !dataset) && <p className="mt-2 text-xs text-slate-600">A sweep needs a model and a dataset (above).</p>}
            </Card>
          ) : (
            <Card title="Save">
              <div className="flex flex-col gap-3">
                <Field label="Configuration name" help="Optional; a name from the values is made otherwise.">
                  {(a11y) => <Input {...a11y} value={displayName} onChange={(e) => setDisplayName(e.target.value)} />}
                </Field>
                <Field label="Configuration description">
                  {(a11y) => <Input {...a11y} value={description} onChange={(e) => setDescription(e.target.value)} />}
                </Field>
                {save.error ? <ErrorMessage error={save.error} title="The configuration was not saved" /> : null}
                {save.data && (
                  <p role="status" className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-900 ring-1 ring-emerald-200">
                    Saved as <span className="font-mono" data-testid="saved-uid">{save.data.uid}</span>
                    {save.data.uid !== uid && uid ? " (the values have changed since)" : ""}
                  </p>
                )}
                <div className="flex flex-wrap gap-2">
                  <Button icon={<Save className="size-4" aria-hidden />} busy={save.isPending}
                    disabled={impossible || save.isPending} onClick={() => save.mutate(configuration())}>
                    Save configuration
                  </Button>
                  <Button variant="primary" icon={<ArrowRight className="size-4" aria-hidden />} disabled={impossible || save.isPending}
                    onClick={onContinue}>
                    Continue to Create job
                  </Button>
                </div>
              </div>
            </Card>
          )}
        </div>
      </div>
    </>
  );
}
