// The frame of every page: navigation by stage of the guide, the services' health, the workflow so far.
import { Activity, BarChart3, Boxes, Database, FlaskConical, GitCompare, LayoutDashboard, MessageSquare,
  SlidersHorizontal } from "lucide-react";
import { Suspense } from "react";
import { NavLink, Outlet, useLocation } from "react-router";
import { ErrorBoundary } from "../components/ErrorBoundary";
import { Loading, cx } from "../components/ui";
import { useHealth } from "../hooks/useHealth";
import { useWorkflow } from "../lib/workflow";

const NAV = [
  { to: "/", label: "Overview", icon: LayoutDashboard, end: true },
  { to: "/datasets", label: "Datasets", icon: Database },
  { to: "/models", label: "Models", icon: Boxes },
  { to: "/configure", label: "Configure", icon: SlidersHorizontal },
  { to: "/jobs", label: "Jobs", icon: Activity },
  { to: "/compare", label: "Compare", icon: GitCompare },
  { to: "/sweeps", label: "Sweeps", icon: FlaskConical },
  { to: "/playground", label: "Playground", icon: MessageSquare },
  { to: "/analytics", label: "Analytics", icon: BarChart3 },
];

function HealthDot() {
  const health = useHealth();
  const down = health.data?.services.filter((s) => s.status !== "SERVING").map((s) => s.service) ?? [];
  const ok = health.data?.status === "SERVING";
  const label = health.isError ? "Gateway unreachable" : !health.data ? "Checking services…" : ok ? "All services serving" : `Not serving: ${down.join(", ")}`;
  return (
    <NavLink to="/analytics" className="flex items-center gap-2 rounded-md px-2 py-1 text-xs text-slate-300 hover:bg-slate-800" title={label}>
      <span aria-hidden className={cx("size-2 rounded-full", ok ? "bg-emerald-400" : health.data || health.isError ? "bg-red-400" : "bg-slate-500")} />
      <span>{label}</span>
    </NavLink>
  );
}

function WorkflowBar() {
  const wf = useWorkflow();
  const { pathname } = useLocation();
  if (!["/datasets", "/models", "/configure", "/jobs/new"].some((p) => pathname.startsWith(p))) return null;
  const steps = [
    { to: "/datasets", label: "Dataset", value: wf.dataset?.name },
    { to: "/models", label: "Model", value: wf.model?.name },
    { to: "/configure", label: "Configuration", value: wf.configuration ? wf.configuration.uid || "set, not saved" : undefined },
    { to: "/jobs/new", label: "Create job", value: undefined },
  ];
  return (
    <nav aria-label="Workflow" className="mb-5 rounded-lg bg-white px-4 py-2 shadow-sm ring-1 ring-slate-200">
      <ol className="flex flex-wrap items-center gap-x-4 gap-y-1 text-sm">
        {steps.map((s, i) => (
          <li key={s.to} className="flex items-center gap-2">
            <span aria-hidden className={cx("flex size-5 items-center justify-center rounded-full text-xs font-semibold",
              s.value ? "bg-indigo-600 text-white" : "bg-slate-200 text-slate-700")}>{i + 1}</span>
            <NavLink to={s.to} className="font-medium text-slate-800 hover:underline">{s.label}</NavLink>
            {s.value && <span className="max-w-48 truncate text-slate-600" title={s.value}>{s.value}</span>}
          </li>
        ))}
      </ol>
    </nav>
  );
}

export function Layout() {
  return (
    <div className="flex min-h-screen">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:p-2">
        Skip to content
      </a>
      <aside className="w-56 shrink-0 bg-slate-900 text-slate-100">
        <div className="sticky top-0 flex h-screen flex-col px-3 py-4">
        <div className="mb-6 px-2">
          <p className="text-base font-semibold">Fine-tuning</p>
          <p className="text-xs text-slate-400">LoRA dashboard</p>
        </div>
        <nav aria-label="Main" className="flex flex-1 flex-col gap-0.5">
          {NAV.map(({ to, label, icon: Icon, end }) => (
            <NavLink key={to} to={to} end={end} className={({ isActive }) => cx(
              "flex items-center gap-2.5 rounded-md px-2 py-1.5 text-sm",
              isActive ? "bg-slate-700 font-medium text-white" : "text-slate-300 hover:bg-slate-800 hover:text-white")}>
              <Icon className="size-4" aria-hidden />
              {label}
            </NavLink>
          ))}
        </nav>
        <HealthDot />
        </div>
      </aside>
      <main id="main" className="min-w-0 flex-1 px-6 py-6 lg:px-8">
        <WorkflowBar />
        <ErrorBoundary>
          <Suspense fallback={<Loading />}>
            <Outlet />
          </Suspense>
        </ErrorBoundary>
      </main>
    </div>
  );
}
