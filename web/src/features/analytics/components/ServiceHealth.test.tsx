import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ServiceHealthLine, ServiceHealthTable, downMessage } from "./ServiceHealth";

const DOWN = {
  status: "NOT_SERVING",
  services: [
    { service: "dataset", grpc_service: "finetune.dataset.v1.DatasetService", address: "127.0.0.1:5001", status: "SERVING" },
    { service: "trainer", grpc_service: "finetune.trainer.v1.TrainerService", address: "127.0.0.1:5004", status: "UNREACHABLE",
      message: "failed to connect to all addresses" },
  ],
};

function wrap(children: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(<QueryClientProvider client={client}><MemoryRouter>{children}</MemoryRouter></QueryClientProvider>);
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("service health", () => {
  it("names a service that is down, why, and what it breaks (the gateway answers 503 with every status)", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(DOWN), { status: 503 })));
    wrap(<ServiceHealthTable />);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe(downMessage(DOWN.services[1]));
    expect(alert.textContent).toContain("The trainer service at 127.0.0.1:5004 is unreachable: failed to connect to all addresses.");
    expect(alert.textContent).toContain("training, the live charts and the playground will fail");
    expect(screen.getAllByRole("row").map((r) => r.getAttribute("data-status")).slice(1)).toEqual(["SERVING", "UNREACHABLE"]);
  });

  it("says so in one line on the overview, and when the gateway itself cannot be reached", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(DOWN), { status: 503 })));
    wrap(<ServiceHealthLine />);
    expect(await screen.findByText("Not serving: trainer (UNREACHABLE).")).toBeTruthy();
    cleanup();
    vi.stubGlobal("fetch", vi.fn(async () => { throw new TypeError("Failed to fetch"); }));
    wrap(<ServiceHealthLine />);
    expect(await screen.findByText(/Cannot reach the gateway/)).toBeTruthy();
  });
});
