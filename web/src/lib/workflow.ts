// The guide's workflow as client state: the dataset, model and configuration picked so far, carried from
// page to page (Datasets -> Models -> Configure -> Create job) and kept for this browser tab.
import { useSyncExternalStore } from "react";
import type { Hyperparameters } from "./api";

export interface Workflow {
  dataset?: { uid: string; name: string };
  model?: { uid: string; name: string };
  /** The configuration picked on Configure: its hyperparameters as sent, and its saved UID when saved. */
  configuration?: { uid?: string; hyperparameters: Hyperparameters };
}

const KEY = "finetune.workflow";
const listeners = new Set<() => void>();
let current: Workflow = read();

function read(): Workflow {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? "{}") as Workflow;
  } catch {
    return {};
  }
}

export function getWorkflow(): Workflow {
  return current;
}

export function updateWorkflow(change: Partial<Workflow>): void {
  current = { ...current, ...change };
  try {
    sessionStorage.setItem(KEY, JSON.stringify(current));
  } catch {
    // storage disabled: kept for this page only
  }
  listeners.forEach((l) => l());
}

export function useWorkflow(): Workflow {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => current,
  );
}
