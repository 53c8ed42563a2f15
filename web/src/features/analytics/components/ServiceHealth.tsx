// Each service's health from `GET /health`: a table on Analytics, one line on the Overview; a service that is
// down is named with what it breaks and where to look.
import { Link } from "react-router";
import { ErrorMessage } from "../../../components/ErrorMessage";
import { Badge, Loading, TABLE, TD, TH, cx } from "../../../components/ui";
import { useHealth, type ServiceHealth } from "../../../hooks/useHealth";

const BREAKS: Record<string, string> = {
  dataset: "uploading, browsing and repairing datasets",
  catalog: "searching, adding and checking models",
  jobs: "creating, listing and comparing jobs, sweeps and these analytics",
  trainer: "training, the live charts and the playground",
};

/** Why a service is down and what that breaks, in words. */
export function downMessage(s: ServiceHealth): string {
  const where = s.address ? ` at ${s.address}` : "";
  const why = s.message ? `: ${s.message}` : "";
  const breaks = BREAKS[s.service] ?? "the pages that use it";
  return `The ${s.service} service${where} is ${s.status.toLowerCase().replaceAll("_", " ")}${why}. Until it is back, ${breaks} will fail; ` +
    "the launcher's log (`make run`) says why it stopped.";
}

export function ServiceHealthTable() {
  const health = useHealth();
  if (health.isPending) return <Loading label="Checking the services…" />;
  if (health.isError) return <ErrorMessage error={health.error} title="Cannot check the services" onRetry={() => void health.refetch()} />;
  const services = health.data.services;
  const down = services.filter((s) => s.status !== "SERVING");
  return (
    <div className="flex flex-col gap-3">
      {down.map((s) => (
        <div key={s.service} role="alert" className="rounded-md bg-red-50 p-3 text-sm text-red-800 ring-1 ring-red-200">{downMessage(s)}</div>
      ))}
      <table className={TABLE} aria-label="Service health">
        <thead className="bg-slate-50">
          <tr>
            <th scope="col" className={TH}>Service</th>
            <th scope="col" className={TH}>Status</th>
            <th scope="col" className={TH}>gRPC service</th>
            <th scope="col" className={TH}>Address</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {services.map((s) => (
            <tr key={s.service} data-service={s.service} data-status={s.status}>
              <th scope="row" className={cx(TD, "text-left font-medium capitalize")}>{s.service}</th>
              <td className={TD}><Badge tone={s.status === "SERVING" ? "green" : "red"}>{s.status}</Badge></td>
              <td className={cx(TD, "font-mono text-xs")}>{s.grpc_service}</td>
              <td className={cx(TD, "font-mono text-xs")}>{s.address || "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The services' health in one line, linking to the table on Analytics. */
export function ServiceHealthLine() {
  const health = useHealth();
  const services = health.data?.services ?? [];
  const down = services.filter((s) => s.status !== "SERVING");
  const ok = !!health.data && !down.length;
  const text = health.isError ? "Cannot reach the gateway: is `make run` still running?" : !health.data ? "Checking the services…"
    : ok ? `All ${services.length} services serving: ${services.map((s) => s.service).join(", ")}.`
    : `Not serving: ${down.map((s) => `${s.service} (${s.status})`).join(", ")}.`;
  return (
    <p className="flex flex-wrap items-center gap-2 text-sm text-slate-700" role="status">
      <span aria-hidden className={cx("size-2.5 rounded-full", ok ? "bg-emerald-500" : health.data || health.isError ? "bg-red-500" : "bg-slate-400")} />
      <span>{text}</span>
      <Link to="/analytics" className="text-indigo-700 hover:underline">Service health</Link>
    </p>
  );
}
