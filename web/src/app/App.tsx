import { QueryClientProvider } from "@tanstack/react-query";
import { useState } from "react";
import { RouterProvider } from "react-router";
import { queryClient } from "./queryClient";
import { createRouter } from "./routes";
import { TokenGate } from "./TokenGate";

export function App() {
  const [router] = useState(createRouter);
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
      <TokenGate />
    </QueryClientProvider>
  );
}
