// Every page of the dashboard, one route per stage of the guide; each page's code loads when first opened.
import { lazy, type ComponentType } from "react";
import { createBrowserRouter, type LoaderFunctionArgs, type RouteObject } from "react-router";
import { jobQuery } from "../features/jobs/api/jobs";
import { prefetchRunMetrics } from "../lib/useRunStream";
import { Layout } from "./Layout";
import { NotFoundPage } from "./NotFoundPage";
import { queryClient } from "./queryClient";

function page<K extends string>(load: () => Promise<Record<K, ComponentType>>, name: K) {
  const Page = lazy<ComponentType>(async () => ({ default: (await load())[name] }));
  return <Page />;
}

/** The job page's data starts loading with the navigation, in parallel with the page's code. */
function prefetchJob({ params }: LoaderFunctionArgs) {
  const jobId = params.jobId ?? "";
  void queryClient.prefetchQuery(jobQuery(jobId));
  prefetchRunMetrics(jobId);
  return null;
}

export const routes: RouteObject[] = [
  {
    element: <Layout />,
    children: [
      { path: "/", element: page(() => import("../features/analytics/OverviewPage"), "OverviewPage") },
      { path: "/datasets", element: page(() => import("../features/datasets/DatasetsPage"), "DatasetsPage") },
      { path: "/datasets/new", element: page(() => import("../features/datasets/UploadDatasetPage"), "UploadDatasetPage") },
      { path: "/datasets/:datasetId", element: page(() => import("../features/datasets/DatasetPage"), "DatasetPage") },
      { path: "/models", element: page(() => import("../features/models/ModelsPage"), "ModelsPage") },
      { path: "/configure", element: page(() => import("../features/configure/ConfigurePage"), "ConfigurePage") },
      { path: "/jobs", element: page(() => import("../features/jobs/JobsPage"), "JobsPage") },
      { path: "/jobs/new", element: page(() => import("../features/jobs/CreateJobPage"), "CreateJobPage") },
      { path: "/jobs/:jobId", element: page(() => import("../features/jobs/JobPage"), "JobPage"), loader: prefetchJob },
      { path: "/compare", element: page(() => import("../features/compare/ComparePage"), "ComparePage") },
      { path: "/sweeps", element: page(() => import("../features/sweeps/SweepsPage"), "SweepsPage") },
      { path: "/sweeps/:sweepId", element: page(() => import("../features/sweeps/SweepPage"), "SweepPage") },
      { path: "/playground", element: page(() => import("../features/playground/PlaygroundPage"), "PlaygroundPage") },
      { path: "/analytics", element: page(() => import("../features/analytics/AnalyticsPage"), "AnalyticsPage") },
      { path: "*", element: <NotFoundPage /> },
    ],
  },
];

export function createRouter() {
  return createBrowserRouter(routes);
}
