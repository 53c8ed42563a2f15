// Vitest: DOM matchers-free setup; jsdom lacks a few browser APIs the components use.
class NoResizeObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
}
globalThis.ResizeObserver ??= NoResizeObserver as unknown as typeof ResizeObserver;
