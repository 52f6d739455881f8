// Cross-origin isolation: the headers that give the page SharedArrayBuffer, and with it threads on
// the CPU path (jax-js' Wasm backend and onnxruntime-web). One list for every place that sets them:
// vite.config.ts (npm start, npm run dev, bench:scale), public/coi-sw.js (hosts that cannot set
// headers), public/_headers and the README's host snippets (a test checks they agree). Why
// require-corp and not credentialless: docs/decisions/0045-cross-origin-isolation.md.
import type { CpuThreads } from './protocol';

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
} as const;

/** The service worker that adds ISOLATION_HEADERS where the host cannot (public/coi-sw.js). */
export const ISOLATION_WORKER = 'coi-sw.js';

/** sessionStorage key: the service worker was tried in this tab (so a refusal cannot loop). */
const WORKER_TRIED = 'ttrv-isolation-worker-tried';

/**
 * On a host that sent no isolation headers, registers the service worker that adds them and
 * reloads once, so that the page comes back through it isolated. True when the page is about to
 * reload (the app should not start). Tried once per tab: a browser that still refuses (no service
 * workers, a private window) runs the CPU path on one thread, and the status bar says so.
 */
export async function isolateByServiceWorker(): Promise<boolean> {
  if (globalThis.crossOriginIsolated || !isSecureContext || !('serviceWorker' in navigator)) {
    return false;
  }
  if (sessionStorage.getItem(WORKER_TRIED) !== null) return false;
  sessionStorage.setItem(WORKER_TRIED, '1');
  try {
    await navigator.serviceWorker.register(`${import.meta.env.BASE_URL}${ISOLATION_WORKER}`);
    await navigator.serviceWorker.ready;
  } catch (error) {
    console.warn('The cross-origin isolation service worker did not start:', error);
    return false;
  }
  location.reload();
  return true;
}

/** What the CPU path can use here: jax-js' Wasm backend spreads its kernels over
 * `navigator.hardwareConcurrency` workers when SharedArrayBuffer exists (only in an isolated
 * context), and onnxruntime-web is given the same count (its own default is half, at most 4). */
export function cpuThreads(): CpuThreads {
  const cores = navigator.hardwareConcurrency || 1;
  const crossOriginIsolated = globalThis.crossOriginIsolated === true;
  return { crossOriginIsolated, cores, threads: crossOriginIsolated ? cores : 1 };
}
