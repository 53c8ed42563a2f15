// Numbers, sizes, durations and names as a person reads them.

/** Proto JSON writes NaN and infinities as strings: any such value as a number (NaN when missing). */
export function num(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value !== "") return Number(value);
  return Number.NaN;
}

export function fmtNumber(value: unknown, digits = 3): string {
  const n = num(value);
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "—" : n > 0 ? "∞" : "−∞";
  if (n !== 0 && (Math.abs(n) < 1e-4 || Math.abs(n) >= 1e6)) return n.toExponential(2);
  return Number(n.toPrecision(digits)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}

export function fmtInt(value: unknown): string {
  const n = num(value);
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—";
}

export function fmtPercent(value: unknown, digits = 0): string {
  const n = num(value);
  return Number.isFinite(n) ? `${n.toFixed(digits)}%` : "—";
}

export function fmtBytes(value: unknown): string {
  const n = num(value);
  if (!Number.isFinite(n)) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function fmtDuration(seconds: unknown): string {
  const s = num(seconds);
  if (!Number.isFinite(s) || s < 0) return "—";
  if (s < 1) return `${(s * 1000).toFixed(0)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ${m % 60} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** Proto Duration JSON (`"90s"`, `"1.5s"`) in seconds. */
export function durationSeconds(value: string | undefined): number {
  return value ? Number.parseFloat(value) : Number.NaN;
}

export function fmtTime(value: string | number | undefined): string {
  if (value === undefined || value === "") return "—";
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(d.getTime()) ? "—" : d.toLocaleString();
}

export function timeAgo(value: string | undefined, now = Date.now()): string {
  if (!value) return "—";
  const t = new Date(value).getTime();
  if (Number.isNaN(t)) return "—";
  const s = Math.round((now - t) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** `JOB_STATE_RUNNING` -> `Running`, `RUN_STATE_PAUSED` -> `Paused`, `JOB_PRIORITY_HIGH` -> `High`. */
export function enumLabel(value: string | undefined, prefix?: string): string {
  if (!value) return "—";
  const rest = prefix ? value.replace(prefix, "") : value.replace(/^[A-Z]+_[A-Z]+_/, "");
  if (!rest || rest === "UNSPECIFIED") return "—";
  const words = rest.toLowerCase().split("_");
  return words.map((w, i) => (i === 0 ? w[0].toUpperCase() + w.slice(1) : w)).join(" ");
}

/** `jobs/job_123` -> `job_123`. */
export function idOf(name: string | undefined): string {
  return (name ?? "").split("/").pop() ?? "";
}

/** Python's json writes NaN and Infinity as bare words, which JSON.parse refuses: read them as null. */
export function parsePythonJson(text: string): unknown {
  return JSON.parse(text.replace(/([:[,]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, "$1null"));
}
