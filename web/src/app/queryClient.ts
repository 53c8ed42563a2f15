// Server state: cached queries with retries for what may come back (a restarting service), none for what
// will not (a 4xx names something to fix).
import { QueryClient } from "@tanstack/react-query";
import { ApiError } from "../lib/errors";

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      retry: (failures, error) => failures < 3 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
      retryDelay: (n) => Math.min(500 * 2 ** n, 4_000),
      refetchOnWindowFocus: true,
    },
    mutations: { retry: false },
  },
});
