// Repair a saved dataset into a new one (the guide's clean-up), then show what changed and link to the result.
import { Wand2 } from "lucide-react";
import { useState } from "react";
import { Link } from "react-router";
import { ErrorMessage } from "../../../components/ErrorMessage";
import { Button, Field, Input } from "../../../components/ui";
import type { Dataset } from "../../../lib/api";
import { useRepairDataset, type RepairRequest } from "../api/datasets";
import { RepairSummary } from "./RepairSummary";

const LIMITS = [
  { key: "min_input_chars", label: "Shortest input (characters)" },
  { key: "max_input_chars", label: "Longest input (characters)" },
  { key: "min_output_chars", label: "Shortest output (characters)" },
  { key: "max_output_chars", label: "Longest output (characters)" },
] as const;
type LimitKey = (typeof LIMITS)[number]["key"];

function Check({ label, checked, onChange }: { label: string; checked: boolean; onChange: (v: boolean) => void }) {
  return (
    <label className="flex items-center gap-2 text-sm text-slate-800">
      <input type="checkbox" className="size-4 accent-indigo-600" checked={checked} onChange={(e) => onChange(e.target.checked)} />
      {label}
    </label>
  );
}

export function RepairForm({ dataset }: { dataset: Dataset }) {
  const repair = useRepairDataset(dataset.uid ?? "");
  const [strip, setStrip] = useState(true);
  const [dropEmpty, setDropEmpty] = useState(true);
  const [dropDuplicates, setDropDuplicates] = useState(true);
  const [limits, setLimits] = useState<Record<LimitKey, string>>({ min_input_chars: "", max_input_chars: "", min_output_chars: "", max_output_chars: "" });
  const [name, setName] = useState("");
  const bad = LIMITS.filter((l) => limits[l.key] !== "" && !(Number.isInteger(Number(limits[l.key])) && Number(limits[l.key]) >= 0));

  const run = () => {
    const options: RepairRequest = {
      display_name: name.trim() || undefined, keep_whitespace: !strip, keep_empty: !dropEmpty, keep_duplicates: !dropDuplicates,
    };
    for (const l of LIMITS) if (limits[l.key]) options[l.key] = Number(limits[l.key]);
    repair.mutate(options);
  };
  const made = repair.data?.dataset;

  return (
    <div className="space-y-4">
      <p className="text-sm text-slate-600">
        Makes a new dataset from this one; this one stays as it is. Blank rows and duplicates are dropped and whitespace trimmed unless you say otherwise.
      </p>
      <form className="space-y-4" onSubmit={(e) => {
        e.preventDefault();
        if (!bad.length) run();
      }}>
        <fieldset className="flex flex-wrap gap-x-6 gap-y-2">
          <legend className="sr-only">Clean-up steps</legend>
          <Check label="Trim whitespace around input and output" checked={strip} onChange={setStrip} />
          <Check label="Drop rows with a blank input or output" checked={dropEmpty} onChange={setDropEmpty} />
          <Check label="Drop duplicate pairs" checked={dropDuplicates} onChange={setDropDuplicates} />
        </fieldset>
        <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
          {LIMITS.map((l) => (
            <Field key={l.key} label={l.label} help="Blank: no limit."
              error={bad.includes(l) ? "A whole number of characters, 0 or more." : undefined}>
              {(p) => <Input {...p} type="number" min={0} step={1} value={limits[l.key]} onChange={(e) => setLimits({ ...limits, [l.key]: e.target.value })} />}
            </Field>
          ))}
        </div>
        <Field label="Name of the repaired dataset" className="max-w-md" help={`Blank: “${dataset.display_name} (repaired)”.`}>
          {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Button type="submit" variant="primary" busy={repair.isPending} disabled={bad.length > 0} icon={<Wand2 className="size-4" aria-hidden />}>
          Repair into a new dataset
        </Button>
      </form>
      {repair.isError && <ErrorMessage title="The repair did not run" error={repair.error} />}
      {made && repair.data && (
        <div className="space-y-2">
          <RepairSummary title="Repair made a new dataset" repair={repair.data} />
          <Link to={`/datasets/${made.uid}`} className="inline-block text-sm font-medium text-indigo-700 underline">
            Open {made.display_name}
          </Link>
        </div>
      )}
    </div>
  );
}
