// The app in Node, for the benchmarks: a localhost server plays the app's origin (the shipped
// demo model under /models/, the datasets under /datasets/, with Range requests as any static
// host), relative URLs resolve against it as they do in a page, and the model loads through the
// app's own loadVisionLanguageModel({ kind: 'demo' }). Shared by bench-quality, bench-speed and
// the engine's greedy-parity test.
// Before @jax-js/jax: the benchmarks start jax-js on Wasm and WebGPU (GPU memory counts).
import './node-webgpu';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { env, RawImage } from '@huggingface/transformers';
import type { Device } from '@jax-js/jax';
import { defaultDevice, init } from '@jax-js/jax';
import type { PlaygroundHost } from '../../src/core/playground';
import { DEMO_DATASET } from '../../src/dataset/splits';
import { WEIGHT_FORMATS, type WeightFormat } from '../../src/engine';
import { PlaygroundError } from '../../src/errors';
import { DEMO_MODEL_ID } from '../../src/models';
import type { VisionLanguageModel } from '../../src/vlm/visionLanguageModel';
import { loadVisionLanguageModel } from '../../src/vlm/visionLanguageModel';
import { REPO_ROOT } from './repo-root';
import { filesUnder, serveBytes } from './serve-files';

export type BenchBackend = Extract<Device, 'wasm' | 'webgpu'>;

/** The options both benchmarks take (for node:util's parseArgs). */
export const BENCH_OPTIONS = {
  /** Print only the JSON line on stdout. */
  json: { type: 'boolean', default: false },
  /** jax-js backend of the timed / evaluated text model. */
  backend: { type: 'string', default: 'wasm' },
  /** Serve <root>/public: e.g. a candidate demo model from build.py --out <root>. */
  root: { type: 'string', default: REPO_ROOT },
  /** How the text model's projections are stored: f32, q8 or q4 (src/engine/quant.ts). */
  weights: { type: 'string', default: 'f32' },
} as const;

/** `--weights`, checked. */
export function weightFormatArg(value: string): WeightFormat {
  if (!(WEIGHT_FORMATS as readonly string[]).includes(value)) {
    throw new Error(`--weights must be one of ${WEIGHT_FORMATS.join(', ')}, got "${value}"`);
  }
  return value as WeightFormat;
}

export type NodeApp = {
  origin: string;
  /** The demo model's folder URL (config.json, model.safetensors). */
  modelUrl: string;
  vlm: VisionLanguageModel;
  /** Whether jax-js got a WebGPU device (in Node: Dawn on SwiftShader, from the chromium package). */
  webgpu: boolean;
  /** The URL of a dataset file, e.g. `datasetUrl('index.json')`. */
  datasetUrl(file: string): string;
  close(): Promise<void>;
};

/**
 * Relative URLs resolve against `origin`, as fetch does in a page served from it. A failed
 * request is retried once: Node's fetch reuses a kept-alive socket that the server may close at
 * the same moment after a long idle stretch (ECONNRESET), and every request here is a GET.
 */
function fetchFromOrigin(origin: string, network: typeof fetch): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? new URL(input, origin) : input;
    return network(url, init).catch(() => network(url, init));
  }) as typeof fetch;
}

export type ServedApp = {
  /** The origin the page would come from: the demo model and datasets are under it. */
  origin: string;
  close(): Promise<void>;
};

/**
 * Serves the demo model and datasets from `<root>/public` (another root: e.g. a candidate model
 * written by tools/demo-model/build.py --out <root>) and points fetch and transformers.js at it,
 * as a page served from that origin sees them.
 */
export async function serveDemoApp(root = REPO_ROOT): Promise<ServedApp> {
  const publicDir = path.join(root, 'public');
  const server = await serveBytes({
    ...filesUnder(publicDir, `models/${DEMO_MODEL_ID}`),
    ...filesUnder(publicDir, DEMO_DATASET.slice(1, -1)),
  });
  globalThis.fetch = fetchFromOrigin(server.url, globalThis.fetch.bind(globalThis));
  // transformers.js in Node reads non-URL paths from the file system; a page fetches them, so
  // the demo model's /models/ path goes through fetch. In Node it hands ONNX files to
  // onnxruntime-node as cached file paths: a fresh cache per run, never a stale model.
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'ttrv-bench-'));
  process.on('exit', () => rmSync(cacheDir, { recursive: true, force: true })); // even on a crash
  env.useFS = false;
  env.useFSCache = true;
  env.cacheDir = cacheDir;
  return {
    origin: server.url,
    // Also here, not only on exit: test runners end their worker processes without it.
    close: async () => {
      await server.close();
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}

/**
 * onnxruntime-node (transformers.js in Node) has no Wasm provider: its CPU provider is the Node
 * counterpart of the page's Wasm one.
 */
export const NODE_VISION_DEVICE = 'cpu';

/**
 * The playground core's host in Node, as the worker is in a page: images decode through
 * transformers.js (sharp) at their own size, and a picked file's URL is its name.
 */
export function nodePlaygroundHost(served: ServedApp): PlaygroundHost {
  return {
    origin: served.origin,
    visionFallback: NODE_VISION_DEVICE,
    readImage: async (file) => {
      const image = await RawImage.fromBlob(file).catch((error: unknown) => {
        throw new PlaygroundError('bad-image', `Not an image: ${(error as Error).message}`);
      });
      const { width, height } = image;
      const info = { preview: file, width, height, originalWidth: width, originalHeight: height };
      return { image, info };
    },
    fileUrl: (file) => `file:${file.name}`,
  };
}

/**
 * Starts jax-js on `backend` (WebGPU is started too, for GPU memory counts), serves the demo
 * model and datasets (serveDemoApp) and loads the demo model as the app does.
 */
export async function openNodeApp(
  backend: BenchBackend,
  root = REPO_ROOT,
  weights: WeightFormat = 'f32',
): Promise<NodeApp> {
  const devices = await init('wasm', 'webgpu');
  if (!devices.includes(backend)) throw new Error(`jax-js backend ${backend} is not available`);
  defaultDevice(backend);
  const served = await serveDemoApp(root);
  const vlm = await loadVisionLanguageModel(
    { kind: 'demo', weights },
    {
      origin: served.origin,
      device: backend,
      visionDevice: NODE_VISION_DEVICE,
      shaderF16: false,
      onProgress: () => {},
    },
  );
  await vlm.vision; // created after the load returns; env.useFS below must not change its reads
  env.useFS = true; // the transformers.js baseline (bench-engine.transformers.ts) reads files
  return {
    origin: served.origin,
    modelUrl: `${served.origin}/models/${DEMO_MODEL_ID}`,
    vlm,
    webgpu: devices.includes('webgpu'),
    datasetUrl: (file) => `${served.origin}${DEMO_DATASET}${file}`,
    close: served.close,
  };
}
