import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RunSeries } from "../../../lib/runSeries";
import { ResourcePanel } from "./ResourcePanel";

vi.mock("../../../components/LiveChart", () => ({ LiveChart: () => null })); // uPlot needs a real browser's canvas

const sample = (node?: string) => ({
  sequence: 1, run: "runs/j", time: new Date(1_700_000_000_000).toISOString(),
  resources: { cpu_percent: 50, cpu_count: 8, memory_percent: 40, memory_used_bytes: 4e9, memory_total_bytes: 1e10,
               process_rss_bytes: 9e8, disk_percent: 10, ...(node ? { node } : {}) },
});

afterEach(cleanup);

describe("ResourcePanel", () => {
  it("names the node a remote worker sampled, and says nothing of nodes for the trainer's own machine", () => {
    const remote = new RunSeries();
    remote.apply(sample("10.77.0.2"));
    render(<ResourcePanel series={remote} />);
    expect(screen.getByRole("region", { name: "Resources of node 10.77.0.2" })).toBeTruthy();
    cleanup();
    const local = new RunSeries();
    local.apply(sample());
    render(<ResourcePanel series={local} />);
    expect(screen.getByRole("region", { name: "Resources" })).toBeTruthy();
  });
});
