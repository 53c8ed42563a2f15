// A job's run as chart columns: loaded once from GetRunMetrics, then appended to from live RunEvents.
//
// Each event is applied at most once (by its sequence number), and a step at or before the last one
// (a run resumed from a checkpoint trains those steps again) first cuts the table back to before it, as
// the trainer's own history does (services/trainer/history.py): every step appears once, as last trained.
import type { ResourceSample, RunEvent, RunMetrics } from "./api";
import { num } from "./format";

export type NoticeKind = "state" | "alert" | "log" | "checkpoint" | "summary";
export interface Notice {
  seq: number;
  time: string;
  kind: NoticeKind;
  event: RunEvent;
}

type Column = (number | null)[];

const NOTICE_KINDS: NoticeKind[] = ["state", "alert", "log", "checkpoint", "summary"];
const MAX_NOTICES = 2000;

export class RunSeries {
  // The training table, one row per step (or per evaluation of a step that was not logged), by step.
  readonly steps: number[] = [];
  readonly elapsed: number[] = [];
  readonly wall: number[] = [];
  readonly epoch: Column = [];
  readonly train: Column = [];
  readonly validation: Column = [];
  readonly learningRate: Column = [];
  readonly gradNorm: Column = [];
  readonly tokensPerSecond: Column = [];
  // Resource samples, by time.
  readonly resourceTime: number[] = [];
  readonly cpu: number[] = [];
  readonly memory: number[] = [];
  readonly rss: number[] = [];
  readonly gpuUtilization: number[] = [];
  readonly gpuMemory: number[] = [];

  latestResources: ResourceSample | undefined;
  latestStep: NonNullable<RunEvent["step"]> | undefined;
  state: string | undefined;
  summary: Record<string, unknown> | undefined;
  notices: Notice[] = [];
  lastSeq = 0;
  /** Bumped on every change; charts and panels redraw when it moves. */
  version = 0;
  /** performance.now() when the newest step arrived, and that step's trainer time (unix seconds). */
  lastStepReceivedAt = 0;
  lastStepTime = 0;

  private listeners = new Set<() => void>();

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.version++;
    this.listeners.forEach((l) => l());
  }

  /** Training steps drawn (each step once): what the page exposes as `data-points`. */
  get stepCount(): number {
    let n = 0;
    for (const v of this.train) if (v !== null) n++;
    return n;
  }

  get lastStep(): number {
    return this.steps.length ? this.steps[this.steps.length - 1] : 0;
  }

  /** Replaces everything with a GetRunMetrics answer. */
  load(m: RunMetrics): void {
    this.clear();
    const s = m.steps ?? {};
    const e = m.evaluations ?? {};
    const stepSteps = (s.steps ?? []).map(num);
    const evalSteps = (e.steps ?? []).map(num);
    let i = 0;
    let j = 0;
    while (i < stepSteps.length || j < evalSteps.length) {
      const takeStep = j >= evalSteps.length || (i < stepSteps.length && stepSteps[i] <= evalSteps[j]);
      if (takeStep) {
        this.pushStep(stepSteps[i], num(s.elapsed_seconds?.[i]), num(s.times?.[i]), num(s.epochs?.[i]), num(s.train_losses?.[i]),
          num(s.learning_rates?.[i]), num(s.grad_norms?.[i]), num(s.tokens_per_second?.[i]));
        i++;
      } else {
        this.putEvaluation(evalSteps[j], num(e.validation_losses?.[j]), num(e.times?.[j]));
        j++;
      }
    }
    const r = m.resources ?? {};
    (r.times ?? []).forEach((t, k) => {
      this.resourceTime.push(num(t));
      this.cpu.push(num(r.cpu_percents?.[k]));
      this.memory.push(num(r.memory_percents?.[k]));
      this.rss.push(num(r.process_rss_bytes?.[k]));
      this.gpuUtilization.push(num(r.gpu_utilization_percents?.[k]));
      this.gpuMemory.push(num(r.gpu_memory_percents?.[k]));
    });
    this.latestResources = m.latest_resources;
    for (const event of m.notices ?? []) this.note(event);
    this.lastSeq = num(m.last_sequence) || 0;
    this.changed();
  }

  /** Applies one live event; false when it was already applied (its sequence number is not newer). */
  apply(event: RunEvent): boolean {
    const seq = num(event.sequence);
    if (!(seq > this.lastSeq)) return false;
    this.lastSeq = seq;
    const time = event.time ? Date.parse(event.time) / 1000 : Date.now() / 1000;
    if (event.step) {
      const st = event.step;
      this.pushStep(num(st.step), num(st.elapsed_seconds), time, num(st.epoch), num(st.train_loss), num(st.learning_rate),
        num(st.grad_norm), num(st.tokens_per_second));
      this.latestStep = st;
      this.lastStepReceivedAt = performance.now();
      this.lastStepTime = time;
    } else if (event.evaluation) {
      this.putEvaluation(num(event.evaluation.step), num(event.evaluation.validation_loss), time);
    } else if (event.resources) {
      const r = event.resources;
      const gpus = r.gpus ?? [];
      const used = gpus.reduce((a, g) => a + num(g.memory_used_bytes), 0);
      const total = gpus.reduce((a, g) => a + num(g.memory_total_bytes), 0);
      this.resourceTime.push(time);
      this.cpu.push(num(r.cpu_percent));
      this.memory.push(num(r.memory_percent));
      this.rss.push(num(r.process_rss_bytes));
      this.gpuUtilization.push(gpus.length ? gpus.reduce((a, g) => a + num(g.utilization_percent), 0) / gpus.length : 0);
      this.gpuMemory.push(total ? (100 * used) / total : 0);
      this.latestResources = r;
    } else {
      this.note(event);
    }
    this.changed();
    return true;
  }

  private clear(): void {
    for (const column of [this.steps, this.elapsed, this.wall, this.epoch, this.train, this.validation, this.learningRate,
      this.gradNorm, this.tokensPerSecond, this.resourceTime, this.cpu, this.memory, this.rss, this.gpuUtilization, this.gpuMemory]) {
      column.length = 0;
    }
    this.notices = [];
    this.latestResources = undefined;
    this.latestStep = undefined;
    this.state = undefined;
    this.summary = undefined;
    this.lastSeq = 0;
  }

  private pushStep(step: number, elapsed: number, wall: number, epoch: number, train: number, lr: number, grad: number, tps: number) {
    this.cutFrom(step);
    this.steps.push(step);
    this.elapsed.push(Number.isFinite(elapsed) ? elapsed : this.elapsed.at(-1) ?? 0);
    this.wall.push(wall);
    this.epoch.push(finiteOrNull(epoch));
    this.train.push(Number.isNaN(train) ? null : train);
    this.validation.push(null);
    this.learningRate.push(finiteOrNull(lr));
    this.gradNorm.push(finiteOrNull(grad));
    this.tokensPerSecond.push(finiteOrNull(tps));
  }

  /** An evaluation goes on its step's row: the last one in the usual order, else a row of its own. */
  private putEvaluation(step: number, loss: number, wall: number) {
    const value = Number.isNaN(loss) ? null : loss;
    const last = this.steps.length - 1;
    if (last >= 0 && this.steps[last] === step) {
      this.validation[last] = value;
      return;
    }
    this.cutFrom(step + 1);
    const at = this.steps.length;
    if (at > 0 && this.steps[at - 1] === step) {
      this.validation[at - 1] = value;
      return;
    }
    this.steps.push(step);
    this.elapsed.push(this.elapsed.at(-1) ?? 0);
    this.wall.push(wall);
    for (const column of [this.epoch, this.train, this.learningRate, this.gradNorm, this.tokensPerSecond]) column.push(null);
    this.validation.push(value);
  }

  /** Drops every row at or after `step`. */
  private cutFrom(step: number) {
    let keep = this.steps.length;
    while (keep > 0 && this.steps[keep - 1] >= step) keep--;
    if (keep === this.steps.length) return;
    for (const column of [this.steps, this.elapsed, this.wall, this.epoch, this.train, this.validation, this.learningRate,
      this.gradNorm, this.tokensPerSecond]) {
      column.length = keep;
    }
  }

  private note(event: RunEvent) {
    const kind = NOTICE_KINDS.find((k) => event[k] !== undefined);
    if (!kind) return;
    if (kind === "state") this.state = event.state?.state;
    if (kind === "summary") this.summary = event.summary?.metrics as Record<string, unknown> | undefined;
    this.notices.push({ seq: num(event.sequence), time: event.time ?? "", kind, event });
    if (this.notices.length > MAX_NOTICES) this.notices.splice(0, this.notices.length - MAX_NOTICES);
  }
}

function finiteOrNull(v: number): number | null {
  return Number.isNaN(v) ? null : v;
}
