// Configure's server state: the guide's checks (ValidateConfiguration), saved and best configurations, the
// datasets a sweep may train on, the chosen model's LoRA targets, and starting a sweep.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Configuration, type Schemas, type Sweep } from "../../../lib/api";

export type ValidateRequest = Schemas["finetune.jobs.v1.ValidateConfigurationRequest"];
export type ValidateResponse = Schemas["finetune.jobs.v1.ValidateConfigurationResponse"];
export type Mode = "manual" | "automated";

export const MODE_ENUM: Record<Mode, NonNullable<Configuration["mode"]>> = {
  manual: "CONFIGURATION_MODE_MANUAL",
  automated: "CONFIGURATION_MODE_AUTOMATED",
};

function validate(body: ValidateRequest) {
  return unwrap(api.POST("/v1/configurations:validate", { body }));
}

/** Every parameter's default: the server's normalised values for an empty configuration. */
export function useDefaults() {
  return useQuery({
    queryKey: ["configure", "defaults"],
    queryFn: async () => (await validate({ hyperparameters: {} })).normalized ?? {},
    staleTime: Infinity,
  });
}

/** The guide's errors and warnings for `body` (undefined: nothing to check yet); the last answer stays shown
 * while the next is on its way. */
export function useValidation(body: ValidateRequest | undefined) {
  return useQuery({
    queryKey: ["configure", "validate", body],
    queryFn: () => validate(body!),
    enabled: body !== undefined,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
}

export function useSaveConfiguration() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (configuration: Configuration) => unwrap(api.POST("/v1/configurations", { body: configuration })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["configurations"] }),
  });
}

export function useLoadBest() {
  return useMutation({
    mutationFn: (mode: Mode) => unwrap(api.GET("/v1/configurations:best", { params: { query: { mode } } })),
  });
}

/** A saved configuration by UID (`/configure?configuration=UID`, e.g. from a promoted sweep trial). */
export function useSavedConfiguration(uid: string | null) {
  return useQuery({
    queryKey: ["configurations", uid],
    queryFn: () => unwrap(api.GET("/v1/configurations/{configuration_id}", { params: { path: { configuration_id: uid! } } })),
    enabled: !!uid,
    staleTime: Infinity,
  });
}

export function useCreateSweep() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (sweep: Sweep) => unwrap(api.POST("/v1/sweeps", { body: sweep })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["sweeps"] }),
  });
}
