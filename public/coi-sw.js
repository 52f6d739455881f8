// Cross-origin isolation for hosts that cannot set response headers (GitHub Pages): this service
// worker adds COOP/COEP to the origin's own responses, as the server would. Registered by
// src/crossOriginIsolation.ts only when the page came without them; the values are
// ISOLATION_HEADERS there (tests/crossOriginIsolation.test.ts checks they agree). Cross-origin
// requests (Hub downloads) are left to the network untouched: they are CORS fetches, which
// require-corp lets through, and a multi-GB download should not pass through this worker.
// Why a worker of our own and not coi-serviceworker: docs/decisions/0045-cross-origin-isolation.md.
const HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    fetch(request).then((response) => {
      // Opaque responses (status 0) cannot be rebuilt, and need no headers of ours.
      if (response.status === 0) return response;
      const headers = new Headers(response.headers);
      for (const [name, value] of Object.entries(HEADERS)) headers.set(name, value);
      return new Response(response.body, {
        status: response.status,
        statusText: response.statusText,
        headers,
      });
    }),
  );
});
