import { describe, expect, it } from "vitest";
import type { RunEvent, RunMetrics } from "./api";
import { RunSeries } from "./runSeries";

const t = (s: number) => new Date(1_700_000_000_000 + s * 1000).toISOString();
const step = (seq: number, n: number, loss: number): RunEvent => ({
  sequence: seq, run: "runs/j", time: t(seq),
  step: { step: n, train_loss: loss, learning_rate: 0.001, grad_norm: 1, tokens_per_second: 100, elapsed_seconds: n, epoch: n / 10 },
});
const evaluation = (seq: number, n: number, loss: number): RunEvent => ({ sequence: seq, run: "runs/j", time: t(seq), evaluation: { step: n, validation_loss: loss } });

describe("RunSeries", () => {
  it("applies each event once, by sequence number", () => {
    const s = new RunSeries();
    expect(s.apply(step(1, 1, 3))).toBe(true);
    expect(s.apply(step(1, 1, 3))).toBe(false);
    expect(s.apply(step(2, 2, 2.5))).toBe(true);
    expect(s.steps).toEqual([1, 2]);
    expect(s.train).toEqual([3, 2.5]);
    expect(s.stepCount).toBe(2);
    expect(s.lastSeq).toBe(2);
  });

  it("puts an evaluation on its step's row, or a row of its own", () => {
    const s = new RunSeries();
    s.apply(step(1, 1, 3));
    s.apply(evaluation(2, 1, 3.2));
    s.apply(evaluation(3, 5, 2.9)); // an evaluation at a step that was not logged
    expect(s.steps).toEqual([1, 5]);
    expect(s.validation).toEqual([3.2, 2.9]);
    expect(s.train).toEqual([3, null]);
    expect(s.stepCount).toBe(1);
  });

  it("a resumed run's repeated steps replace the later ones, so every step appears once", () => {
    const s = new RunSeries();
    [step(1, 1, 3), step(2, 2, 2), evaluation(3, 2, 2.2), step(4, 3, 1.5)].forEach((e) => s.apply(e));
    s.apply({ sequence: 5, state: { state: "RUN_STATE_RUNNING", message: "resuming from checkpoint-1" } });
    s.apply(step(6, 2, 2.1));
    s.apply(step(7, 3, 1.6));
    expect(s.steps).toEqual([1, 2, 3]);
    expect(s.train).toEqual([3, 2.1, 1.6]);
    expect(s.validation).toEqual([null, null, null]);
    expect(s.notices.map((n) => n.kind)).toEqual(["state"]);
    expect(s.state).toBe("RUN_STATE_RUNNING");
  });

  it("loads GetRunMetrics columns into the same table the live events build", () => {
    const metrics: RunMetrics = {
      last_sequence: 9,
      steps: { steps: [1, 2, 3], train_losses: [3, 2, "NaN" as unknown as number], elapsed_seconds: [1, 2, 3], times: [1, 2, 3] },
      evaluations: { steps: [2, 4], validation_losses: [2.5, 2.4], times: [2, 4] },
      resources: { times: [1, 2], cpu_percents: [10, 20], memory_percents: [30, 40] },
      notices: [{ sequence: 1, state: { state: "RUN_STATE_RUNNING" } }],
    };
    const s = new RunSeries();
    s.load(metrics);
    expect(s.steps).toEqual([1, 2, 3, 4]);
    expect(s.train).toEqual([3, 2, null, null]);
    expect(s.validation).toEqual([null, 2.5, null, 2.4]);
    expect(s.cpu).toEqual([10, 20]);
    expect(s.lastSeq).toBe(9);
    expect(s.apply(step(9, 5, 1))).toBe(false); // already counted in the snapshot
    expect(s.apply(step(10, 5, 1))).toBe(true);
    expect(s.steps.at(-1)).toBe(5);
  });

  it("tells subscribers about every change", () => {
    const s = new RunSeries();
    let calls = 0;
    const unsubscribe = s.subscribe(() => calls++);
    s.apply(step(1, 1, 3));
    s.apply(step(1, 1, 3));
    unsubscribe();
    s.apply(step(2, 2, 3));
    expect(calls).toBe(1);
  });
});
