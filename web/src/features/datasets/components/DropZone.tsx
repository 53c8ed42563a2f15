// A file drop target that is also a labelled file picker, reachable and opened from the keyboard.
import { Upload } from "lucide-react";
import { useId, useState, type DragEvent } from "react";
import { cx } from "../../../components/ui";

export const ACCEPT = ".csv,.tsv,.jsonl,.json,.txt,text/csv,text/tab-separated-values,application/json,application/x-ndjson";

export function DropZone({ onFile, disabled, compact }: { onFile: (file: File) => void; disabled?: boolean; compact?: boolean }) {
  const id = useId();
  const [over, setOver] = useState(false);
  const drop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const file = e.dataTransfer.files[0];
    if (file && !disabled) onFile(file);
  };
  return (
    <div
      data-testid="dropzone"
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={drop}
      className={cx("relative rounded-lg border-2 border-dashed text-center transition-colors",
        "has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-offset-2 has-[:focus-visible]:outline-indigo-600",
        compact ? "px-4 py-3" : "px-6 py-10",
        over ? "border-indigo-500 bg-indigo-50" : "border-slate-300 bg-white hover:border-slate-400")}
    >
      <input id={id} type="file" accept={ACCEPT} className="sr-only" disabled={disabled} aria-describedby={`${id}-help`}
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) onFile(file);
          e.target.value = ""; // the same file again (after editing it) is a new choice
        }} />
      <label htmlFor={id} className={cx("flex cursor-pointer items-center justify-center gap-3", compact ? "flex-row" : "flex-col")}>
        <Upload className={cx("text-slate-400", compact ? "size-5" : "size-8")} aria-hidden />
        <span className="text-sm text-slate-700">
          <span className="font-semibold text-indigo-700 underline">Choose a dataset file</span>
          {" "}or drop it here
        </span>
      </label>
      <p id={`${id}-help`} className="mt-1 text-xs text-slate-500">
        CSV, TSV or JSONL with <code>input</code> and <code>output</code> columns (one example per row).
      </p>
    </div>
  );
}
