// The model and dataset the values are for: they steer the guide's advice (learning rate by model size, epochs by
// rows, memory) and are what a sweep trains on. Both are the workflow's, changed here or on their own pages.
import { Link } from "react-router";
import { ErrorMessage } from "../../../components/ErrorMessage";
import { Card, Field, Input, Select } from "../../../components/ui";
import { fmtInt, idOf } from "../../../lib/format";
import { useDatasets } from "../../datasets/api/datasets";

export interface TrainingContextProps {
  model: string;
  onModel: (uid: string) => void;
  dataset: string;
  onDataset: (uid: string, name: string) => void;
  modelError?: string;
  datasetError?: string;
  /** A sweep ranks trials by validation loss: say so next to a dataset without validation rows. */
  needsValidation: boolean;
}

export function TrainingContext({ model, onModel, dataset, onDataset, modelError, datasetError, needsValidation }: TrainingContextProps) {
  const datasets = useDatasets({ pageSize: 200 });
  const list = datasets.data?.datasets ?? [];
  const picked = list.find((d) => d.uid === dataset);
  const noValidation = needsValidation && picked && !picked.validation_rows;
  return (
    <Card title="Model and data">
      <div className="grid grid-cols-1 gap-4 md:grid-cols-2">
        <Field label="Model" error={modelError}
          help={<>The model id the advice is for; pick one on <Link className="text-indigo-700 underline" to="/models">Models</Link>.</>}>
          {(a11y) => <Input {...a11y} value={model} placeholder="finetune-builtin/tiny-llama-3m" spellCheck={false}
            onChange={(e) => onModel(e.target.value.trim())} />}
        </Field>
        <Field label="Dataset" error={datasetError ?? (noValidation ? "This dataset has no validation rows: a sweep ranks its trials by validation loss, so upload it with a validation split." : undefined)}
          help={picked ? `${fmtInt(picked.train_rows)} training rows, ${fmtInt(picked.validation_rows)} validation rows` : <>Steers the epochs advice; upload one on <Link className="text-indigo-700 underline" to="/datasets">Datasets</Link>.</>}>
          {(a11y) => (
            <Select {...a11y} value={dataset} disabled={datasets.isPending}
              onChange={(e) => onDataset(e.target.value, list.find((d) => d.uid === e.target.value)?.display_name ?? "")}>
              <option value="">{datasets.isPending ? "Loading datasets…" : list.length ? "No dataset" : "No dataset uploaded yet"}</option>
              {dataset && !picked && !datasets.isPending && <option value={dataset}>{dataset} (not found)</option>}
              {list.map((d) => (
                <option key={d.uid} value={d.uid}>{d.display_name || idOf(d.name)} · {fmtInt(d.train_rows)} rows</option>
              ))}
            </Select>
          )}
        </Field>
      </div>
      {datasets.error ? <div className="mt-3"><ErrorMessage error={datasets.error} title="The datasets could not be listed" onRetry={() => datasets.refetch()} /></div> : null}
    </Card>
  );
}
