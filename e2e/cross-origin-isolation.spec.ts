import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test } from '@playwright/test';
import { preview } from 'vite';
import { REPO_ROOT } from '../tools/lib/repo-root';
import { askedRange, rangeHeaders } from '../tools/lib/serve-files';
import { withoutWebGpu } from './helpers';

test('a fresh page is cross-origin isolated and its worker uses every core', async ({ page }) => {
  await withoutWebGpu(page); // the CPU path, where threads matter; no GPU probe to wait for
  await page.goto('/');
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const threads = page.getByTestId('status-threads');
  await expect(threads).toHaveAttribute('data-isolated', 'true');
  await expect(threads).toHaveAttribute('data-threads', String(cores));
  await expect(threads).toHaveAttribute('data-backend', 'wasm');
  await expect(threads).toContainText(`${cores} thread`);
  // The worker is where jax-js and onnxruntime-web run: SharedArrayBuffer must exist there.
  const worker = page.workers()[0];
  expect(await worker?.evaluate(() => [crossOriginIsolated, typeof SharedArrayBuffer])).toEqual([
    true,
    'function',
  ]);
});

test('on a host that sends no headers, the service worker makes the page isolated', async ({
  page,
}) => {
  // dist/ served as a plain static host would: Vite's preview without the project's config.
  const host = await preview({
    configFile: false,
    root: REPO_ROOT,
    logLevel: 'silent',
    preview: { host: '127.0.0.1', port: 0 },
  });
  try {
    const origin = host.resolvedUrls?.local[0] as string;
    const first = await page.request.get(origin);
    expect(first.headers()['cross-origin-embedder-policy']).toBeUndefined();
    await withoutWebGpu(page);
    await page.goto(origin);
    // The first load registers coi-sw.js and reloads; the app starts on the isolated reload.
    const threads = page.getByTestId('status-threads');
    await expect(threads).toHaveAttribute('data-isolated', 'true');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  } finally {
    await host.close();
  }
});

/** A stand-in for the Hub on another origin: what its resolve URLs answer (CORS, a redirect to a
 * CDN on a third origin for weights, Range) and no Cross-Origin-Resource-Policy header. */
async function fakeHub(): Promise<{ url: string; close: () => Promise<void> }> {
  const body = new TextEncoder().encode('0123456789abcdef');
  const cors = {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': 'Range',
    'Access-Control-Expose-Headers': 'Content-Range,Accept-Ranges,ETag,X-Linked-Size',
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end();
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/org/')) {
      // The Hub sends LFS files to a CDN host: here the same handler on another port.
      const cdn = `http://127.0.0.1:${(servers[1].address() as AddressInfo).port}/cdn${url.pathname}`;
      return void res.writeHead(302, { ...cors, Location: cdn }).end();
    }
    const range = askedRange(req, body.length);
    if (!range) return void res.writeHead(200, cors).end(body);
    const [start, end] = range;
    res
      .writeHead(206, { ...cors, ...rangeHeaders(start, end, body.length) })
      .end(body.subarray(start, end));
  };
  const servers = [createServer(handler), createServer(handler)] as const;
  for (const server of servers) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  }
  const { port } = servers[0].address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const server of servers) await new Promise((resolve) => server.close(resolve));
    },
  };
}

test('under COEP require-corp, Hub-style CORS downloads still work (redirect and Range)', async ({
  page,
}) => {
  const hub = await fakeHub();
  try {
    await withoutWebGpu(page);
    await page.goto('/');
    await expect(page.getByTestId('status-threads')).toHaveAttribute('data-isolated', 'true');
    const worker = page.workers()[0];
    // As transformers.js, httpRangeReader and the resumable download's open-ended request
    // (httpRangeStream) fetch: CORS mode, from the worker.
    const got = await worker?.evaluate(async (base) => {
      const url = `${base}/org/model/resolve/main/model.safetensors`;
      const whole = await fetch(url);
      const part = await fetch(url, { headers: { Range: 'bytes=4-7' } });
      const rest = await fetch(url, { headers: { Range: 'bytes=10-' } });
      return [
        [whole.status, await whole.text()],
        [part.status, await part.text()],
        [rest.status, await rest.text(), rest.headers.get('Content-Range')],
      ];
    }, hub.url);
    expect(got).toEqual([
      [200, '0123456789abcdef'],
      [206, '4567'],
      [206, 'abcdef', 'bytes 10-15/16'],
    ]);
  } finally {
    await hub.close();
  }
});
