// `bench:scale --browser`: the same measurement as in Node, in pages of headless Chromium (or the
// Chrome that $CHROME_PATH names), so that a machine with a real GPU gives its WebGPU numbers with
// one command. A Vite dev server serves tools/lib/scale/page.html (TypeScript compiled on the fly, as
// `npm run dev` serves the app) and each checkpoint folder under /checkpoints/<shape>/; every
// backend of every shape runs in a fresh browser context, so each page's memory is its own.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadavg } from 'node:os';
import path from 'node:path';
import type { Device } from '@jax-js/jax';
import { chromium } from '@playwright/test';
import { createServer } from 'vite';
import { ISOLATION_HEADERS } from '../../../src/crossOriginIsolation';
// @ts-expect-error: a plain .mjs tool shared with the test runner, no type declarations
import { CHROMIUM_ARGS, findBrowser, INSTALL_COMMAND } from '../browser.mjs';
import { REPO_ROOT } from '../repo-root';
import { serveFolders } from '../serve-files';
import type { AppSource } from './app-page';
import { measureAppPath } from './app-path';
import { type ScaleOptions, shapeEntry } from './measure';
import type { PageJob, PageResult } from './page';

export type BrowserRun = ScaleOptions & {
  shapes: string[];
  dirs: Record<string, string>;
  browser: Device[] | null;
  transformersjs: boolean;
  /** The app's own path (tools/lib/scale/app-path.ts): from which sources, after the engine's rows. */
  appSources: AppSource[];
  /** Only the app's path: no engine rows. */
  appOnly: boolean;
  /** --isolation: the Wasm rows run once per value (on: the app's COOP/COEP headers, so threads;
   * off: the page without them, one thread); WebGPU rows run with the first value only. */
  isolation: Isolation[];
};

export type Isolation = 'on' | 'off';

/** The page's query parameter that asks for no isolation headers on its document. */
const NOT_ISOLATED = 'isolation=off';

/** A middleware that drops the dev server's isolation headers (vite.config.ts) from the page
 * document when its URL asks: without them on the document, the page is not isolated. */
function stripIsolation(req: IncomingMessage, res: ServerResponse, next: () => void) {
  if (req.url?.includes(NOT_ISOLATED)) {
    const setHeader = res.setHeader.bind(res);
    const dropped = new Set(Object.keys(ISOLATION_HEADERS).map((h) => h.toLowerCase()));
    res.setHeader = (name, value) =>
      dropped.has(name.toLowerCase()) ? res : setHeader(name, value);
  }
  next();
}

/** The pages of one shape: each backend, the Wasm one under every isolation value asked for. */
const pagesOf = (args: BrowserRun): [Device, Isolation][] =>
  (args.browser ?? ['webgpu', 'wasm']).flatMap((backend) =>
    (backend === 'wasm' ? args.isolation : args.isolation.slice(0, 1)).map(
      (isolation): [Device, Isolation] => [backend, isolation],
    ),
  );

export async function runInBrowser(
  args: BrowserRun,
  builds: Record<string, { repo: string; params_text: number }>,
  log: (s: string) => void,
) {
  const executablePath = findBrowser();
  if (!executablePath) {
    throw new Error(
      `bench:scale --browser needs Chromium or Chrome: install one (${INSTALL_COMMAND}) or set CHROME_PATH.`,
    );
  }
  const mounts: Record<string, string> = Object.fromEntries(
    args.shapes.map((s) => [`/checkpoints/${s}`, args.dirs[s] as string]),
  );
  const server = await createServer({
    root: REPO_ROOT,
    configFile: path.join(REPO_ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0, hmr: false },
    // Found up front, so the first page is not reloaded when Vite discovers a dependency.
    optimizeDeps: { entries: ['tools/lib/scale/page.html', 'tools/lib/scale/app-page.html'] },
    plugins: [
      {
        name: 'checkpoints',
        configureServer: (dev) => {
          dev.middlewares.use(stripIsolation);
          dev.middlewares.use(serveFolders(mounts));
        },
      },
    ],
  });
  await server.listen();
  const origin = server.resolvedUrls?.local[0];
  if (!origin) throw new Error('The Vite dev server for the benchmark page did not start.');
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  try {
    const shapes = [];
    for (const shape of args.appOnly ? [] : args.shapes) {
      for (const [backend, isolation] of pagesOf(args)) {
        log(`${shape} in ${browser.version()} on ${backend}, isolation ${isolation}`);
        const job: PageJob = {
          base: `/checkpoints/${shape}`,
          backend,
          options: args,
          transformersjs: args.transformersjs,
        };
        const load = loadavg()[0] as number;
        const context = await browser.newContext();
        try {
          const page = await context.newPage();
          page.on('console', (message) => log(`  ${message.text()}`));
          page.on('response', (response) => {
            if (response.status() >= 400) log(`  HTTP ${response.status()} ${response.url()}`);
          });
          const off = isolation === 'off' ? `&${NOT_ISOLATED}` : '';
          await page.goto(
            `${origin}tools/lib/scale/page.html?job=${encodeURIComponent(JSON.stringify(job))}${off}`,
          );
          await page.waitForFunction(() => 'benchScale' in window, null, { timeout: 300_000 });
          const r = (await page.evaluate(
            () => (window as unknown as { benchScale: Promise<PageResult> }).benchScale,
          )) as PageResult;
          shapes.push({
            ...shapeEntry(
              shape,
              builds[shape] as { repo: string; params_text: number },
              backend,
              args,
              r.engine,
              { peakBytes: r.peakBytes, peakGpuBytes: r.peakGpuBytes },
              { device: backend, voteMs: r.transformersJsVoteMs },
              [Number(load.toFixed(2)), Number((loadavg()[0] as number).toFixed(2))],
            ),
            gpu_adapter: r.gpu,
            cross_origin_isolated: r.crossOriginIsolated,
            threads: r.threads,
            vision_encoder_ms: r.visionEncoderMs === null ? null : Math.round(r.visionEncoderMs),
          });
        } finally {
          await context.close();
        }
      }
    }
    const app = [];
    for (const shape of args.shapes) {
      for (const backend of args.browser ?? ['webgpu', 'wasm']) {
        for (const source of args.appSources) {
          const dir = args.dirs[shape] as string;
          const build = builds[shape] as { repo: string; params_text: number };
          const run = { browser, origin, mounts, shape, dir, build, backend, source };
          app.push(await measureAppPath({ ...run, options: args }, log));
        }
      }
    }
    return {
      shapes,
      app_path: app,
      backend: 'browser',
      browser: `${executablePath} ${browser.version()}`,
    };
  } finally {
    await browser.close();
    await server.close();
  }
}
