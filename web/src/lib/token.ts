// The API token (FINETUNE_API_TOKEN on the gateway), asked for once and kept in this browser.
const KEY = "finetune.apiToken";
const listeners = new Set<() => void>();

export function getToken(): string {
  try {
    return localStorage.getItem(KEY) ?? "";
  } catch {
    return "";
  }
}

export function setToken(token: string): void {
  try {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {
    // storage disabled: the token lives as long as the page
  }
  listeners.forEach((l) => l());
}

/** Called when the gateway answers 401: the token is missing or wrong. */
let onUnauthenticated: () => void = () => {};
export function whenUnauthenticated(handler: () => void): () => void {
  onUnauthenticated = handler;
  return () => {
    onUnauthenticated = () => {};
  };
}
export function reportUnauthenticated(): void {
  onUnauthenticated();
}

export function subscribeToken(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
