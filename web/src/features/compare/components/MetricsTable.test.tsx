import { cleanup, render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsTable } from "./MetricsTable";

afterEach(cleanup);

const columns = [{ id: "a", name: "A", color: "#000000" }, { id: "b", name: "B", color: "#ffffff" }];

describe("MetricsTable", () => {
  it("marks the best value of each metric; a tie of every job is no winner; unmeasured is a dash", () => {
    render(
      <MemoryRouter>
        <MetricsTable columns={columns} comparison={{
          metrics: ["final_loss", "gpu_hours", "tokens_per_second", "final_validation_loss"],
          jobs: [
            { job: "jobs/a", metrics: { final_loss: 2.5, gpu_hours: 0, tokens_per_second: 900 } },
            { job: "jobs/b", metrics: { final_loss: 2.25, gpu_hours: 0, tokens_per_second: 1200 } },
          ],
          best: [{ metric: "final_loss", job: "jobs/b", value: 2.25 }, { metric: "gpu_hours", job: "jobs/a", value: 0 },
            { metric: "tokens_per_second", job: "jobs/b", value: 1200 }],
        }} />
      </MemoryRouter>,
    );
    const cells = (metric: string) => within(document.querySelector(`tr[data-metric="${metric}"]`) as HTMLElement).getAllByRole("cell");
    expect(cells("final_loss").map((c) => c.hasAttribute("data-best"))).toEqual([false, true]);
    expect(cells("final_loss")[1].textContent).toBe("2.25 best");
    expect(cells("gpu_hours").map((c) => c.hasAttribute("data-best"))).toEqual([false, false]);
    expect(cells("tokens_per_second").map((c) => c.textContent)).toEqual(["900", "1,200 best"]);
    expect(cells("final_validation_loss").map((c) => c.textContent)).toEqual(["—", "—"]);
    expect(screen.getByRole("link", { name: "B" }).getAttribute("href")).toBe("/jobs/b");
  });
});
