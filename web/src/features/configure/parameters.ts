// Every training parameter of the Hyperparameters schema as a form field. The table is keyed by the generated
// type, so a parameter added to the schema fails the type check until it has a field here; defaults come from
// the server (ValidateConfiguration's `normalized` for no values), never from this file.
import type { Hyperparameters } from "../../lib/api";

export type ParamKey = Exclude<keyof Hyperparameters, "uid">;

type KindOf<T> = NonNullable<T> extends boolean ? "bool" : NonNullable<T> extends number ? "int" | "float"
  : NonNullable<T> extends string[] ? "list" : "text";

export type Section = "learning" | "lora" | "advanced";

export interface ParamSpec<K extends ParamKey = ParamKey> {
  kind: KindOf<Hyperparameters[K]>;
  label: string;
  section: Section;
  /** What the value does, and the guide's advice where it gives some. */
  help: string;
  /** Values offered while typing (the server decides what is accepted). */
  suggestions?: string[];
  /** Empty means "not set" (no limit), not "the default". */
  optional?: boolean;
  /** False for what a sweep cannot search (the jobs service says so too): set it as a fixed value. */
  searchable?: false;
}

export const PARAMETERS: { [K in ParamKey]-?: ParamSpec<K> } = {
  learning_rate: { kind: "float", label: "Learning rate", section: "learning",
    help: "Peak learning rate. The guide: 7B+ 1e-5 to 5e-5, 1-7B 5e-5 to 2e-4, under 1B 1e-4 to 5e-4." },
  batch_size: { kind: "int", label: "Batch size", section: "learning",
    help: "Examples per micro-batch. Larger batches need more memory and train more stably." },
  epochs: { kind: "int", label: "Epochs", section: "learning",
    help: "Passes over the data. The guide: over 10k rows 1-3, 1k-10k 3-5, under 1k 5-10." },
  max_steps: { kind: "int", label: "Max steps", section: "learning", optional: true,
    help: "Stop after this many optimizer steps even if epochs remain. Empty: no limit." },
  warmup_steps: { kind: "int", label: "Warmup steps", section: "learning",
    help: "Steps of linear warmup (wins over the warmup ratio when set); about 10% of the steps is usual." },
  warmup_ratio: { kind: "float", label: "Warmup ratio", section: "learning",
    help: "Fraction of the steps used for warmup, in [0, 1), when warmup steps is 0." },
  weight_decay: { kind: "float", label: "Weight decay", section: "learning", help: "AdamW weight decay (the guide: 0.01)." },
  lora_r: { kind: "int", label: "LoRA rank (r)", section: "lora", help: "Rank of the adapter matrices; 8 to 64 is usual (the guide: 16)." },
  lora_alpha: { kind: "float", label: "LoRA alpha", section: "lora",
    help: "Scaling numerator; alpha / r of 1 to 2 is usual (the guide: 32 for r 16)." },
  lora_dropout: { kind: "float", label: "LoRA dropout", section: "lora", help: "Dropout on the adapter input, in [0, 1); 0.05 to 0.1 is usual." },
  target_modules: { kind: "list", label: "Target modules", section: "lora", searchable: false, suggestions: ["q_proj, v_proj", "all-linear"],
    help: "Linear modules that get adapters, separated by commas, e.g. q_proj, v_proj; or all-linear." },
  gradient_accumulation_steps: { kind: "int", label: "Gradient accumulation steps", section: "advanced",
    help: "Micro-batches per optimizer step: batch size × this is the effective batch (the guide aims at 32)." },
  max_grad_norm: { kind: "float", label: "Max gradient norm", section: "advanced", help: "Gradient clipping norm; 0 turns clipping off (the guide: 1.0)." },
  optimizer: { kind: "text", label: "Optimizer", section: "advanced", suggestions: ["adamw", "adamw_torch", "sgd", "adafactor"],
    help: "adamw, adamw_torch, sgd or adafactor." },
  scheduler: { kind: "text", label: "Scheduler", section: "advanced",
    suggestions: ["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt"],
    help: "Learning-rate schedule after warmup: linear, cosine, constant, …" },
  max_seq_length: { kind: "int", label: "Max sequence length", section: "advanced", help: "Tokens per example; longer examples are cut." },
  packing: { kind: "bool", label: "Pack short examples", section: "advanced", searchable: false, help: "Pack several examples into one row (faster on short examples)." },
  save_steps: { kind: "int", label: "Save steps", section: "advanced", searchable: false, help: "Steps between checkpoints (0: only at the end)." },
  keep_checkpoints: { kind: "int", label: "Checkpoints kept", section: "advanced", searchable: false, help: "Newest checkpoints kept on disk." },
  eval_steps: { kind: "int", label: "Eval steps", section: "advanced", help: "Steps between evaluations on the validation rows (0: once per epoch)." },
  logging_steps: { kind: "int", label: "Logging steps", section: "advanced", searchable: false, help: "Steps between step events on the charts." },
  early_stopping_patience: { kind: "int", label: "Early stopping patience", section: "advanced",
    help: "Evaluations without improvement before stopping early (0: never)." },
  early_stopping_threshold: { kind: "float", label: "Early stopping threshold", section: "advanced",
    help: "Smallest validation-loss drop that counts as an improvement." },
  seed: { kind: "int", label: "Seed", section: "advanced", help: "Seed for shuffling and initialisation." },
  timeout_seconds: { kind: "float", label: "Training time limit (s)", section: "advanced", searchable: false,
    help: "Longest training time in seconds (0: no limit; paused time does not count)." },
};

export const PARAM_KEYS = Object.keys(PARAMETERS) as ParamKey[];
export const SEARCHABLE_KEYS = PARAM_KEYS.filter((k) => PARAMETERS[k].searchable !== false);

export const SECTIONS: { id: Section; title: string; description: string }[] = [
  { id: "learning", title: "Learning", description: "How fast and how long the model learns." },
  { id: "lora", title: "LoRA", description: "The low-rank adapters that are trained instead of the model." },
  { id: "advanced", title: "Advanced", description: "Optimisation, checkpoints, evaluation and limits." },
];

/** The form's text for each parameter (a checkbox holds "true" or "false"); "" means not set. */
export type FormValues = Record<ParamKey, string>;

/** The form's text of a set of values (absent ones empty). */
export function toForm(h: Hyperparameters | undefined): FormValues {
  const out = {} as FormValues;
  for (const key of PARAM_KEYS) {
    const value = h?.[key];
    out[key] = value === undefined || value === null ? "" : Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

export interface ParsedForm {
  hyperparameters: Hyperparameters;
  /** Values the browser cannot even send (not a number), by parameter. */
  errors: Partial<Record<ParamKey, string>>;
}

/** The request's values from the form: empty fields are left out (the server's default, or no limit). */
export function fromForm(form: FormValues, skip: Iterable<ParamKey> = []): ParsedForm {
  const skipped = new Set(skip);
  const h: Record<string, unknown> = {};
  const errors: ParsedForm["errors"] = {};
  for (const key of PARAM_KEYS) {
    const text = (form[key] ?? "").trim();
    if (!text || skipped.has(key)) continue;
    const kind = PARAMETERS[key].kind;
    if (kind === "int" || kind === "float") {
      const n = Number(text);
      if (!Number.isFinite(n)) errors[key] = `${key} must be a number, got "${text}"`;
      else h[key] = n;
    } else if (kind === "bool") {
      h[key] = text === "true";
    } else if (kind === "list") {
      h[key] = text.split(/[\s,]+/).filter(Boolean);
    } else {
      h[key] = text;
    }
  }
  return { hyperparameters: h as Hyperparameters, errors };
}

/** The parameter an API field path is about (`configuration.hyperparameters.batch_size` -> `batch_size`). */
export function paramOf(field: string | undefined): ParamKey | undefined {
  if (!field) return undefined;
  const last = field.split(".").pop()!.replace(/#\d+$/, "").replace(/\[\d+\]$/, "");
  return last in PARAMETERS ? (last as ParamKey) : undefined;
}
