// bench:scale inside a browser page (opened by tools/lib/scale/browser.ts): one shape on one backend,
// the checkpoint read over HTTP as the app reads a Hub or folder model (Range requests for the
// weights), transformers.js on onnxruntime-web's provider of the same name. The result is left
// in `window.benchScale` (a promise) for the launcher to await.
import 'core-js/actual/iterator/index.js';
// Before @jax-js/jax: it watches the Wasm memory jax-js creates when its module loads.
import '../wasm-memory';
import { env } from '@huggingface/transformers';
import type { Device } from '@jax-js/jax';
import { defaultDevice, init } from '@jax-js/jax';
import ortFactoryUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { cpuThreads } from '../../../src/crossOriginIsolation';
import { trackGpuMemory } from '../../../src/engine';
import { describeGpuAdapter, type GpuAdapterFacts } from '../../../src/gpu/gpuAdapter';
import { httpRangeReader } from '../../../src/net/httpRangeReader';
import { parseReference } from '../real-size-reference';
import { wasmMemoryPeak } from '../wasm-memory';
import {
  type EngineTimes,
  measureEngine,
  measureTransformersJs,
  measureVisionEncoder,
  type ScaleOptions,
} from './measure';

/** What the launcher passes in the page's query string (`?job=<JSON>`). */
export type PageJob = {
  /** Folder under the page's origin holding the checkpoint's files, e.g. /checkpoints/256m. */
  base: string;
  backend: Device;
  options: ScaleOptions;
  transformersjs: boolean;
};

export type PageResult = {
  engine: EngineTimes;
  peakBytes: number | null;
  peakGpuBytes: number | null;
  transformersJsVoteMs: number | null;
  visionEncoderMs: number | null;
  gpu: GpuAdapterFacts | null;
  crossOriginIsolated: boolean;
  /** The CPU path's threads, as the app's worker takes them (src/crossOriginIsolation.ts). */
  threads: number;
};

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

async function run(job: PageJob): Promise<PageResult> {
  const log = (s: string) => console.log(s);
  const devices = await init(job.backend);
  if (!devices.includes(job.backend)) {
    throw new Error(`This browser gives jax-js no ${job.backend} backend.`);
  }
  defaultDevice(job.backend);
  const adapter = job.backend === 'webgpu' ? await navigator.gpu.requestAdapter() : null;
  const counter = job.backend === 'webgpu' ? trackGpuMemory() : null;
  const [hubConfig, referenceJson, referenceTensors] = await Promise.all([
    fetchOk(`${job.base}/config.json`).then((r) => r.json()),
    fetchOk(`${job.base}/ttrv/reference.json`).then((r) => r.text()),
    fetchOk(`${job.base}/ttrv/reference.safetensors`).then((r) => r.arrayBuffer()),
  ]);
  const reference = parseReference(referenceJson, new Uint8Array(referenceTensors));
  const weights = httpRangeReader(`${job.base}/model.safetensors`);
  const engine = await measureEngine({ hubConfig, weights, reference }, job.options, log);
  // Read before transformers.js runs: onnxruntime-web's Wasm memory would be counted too.
  const peakBytes = job.backend === 'wasm' ? wasmMemoryPeak() : (counter?.peak() ?? null);
  const peakGpuBytes = counter ? counter.peak() : null;
  counter?.stop();
  let transformersJsVoteMs: number | null = null;
  let visionEncoderMs: number | null = null;
  const threads = cpuThreads();
  if (job.transformersjs) {
    // onnxruntime-web would fetch its .wasm from a CDN: serve our own copy (works offline); its
    // threads as the app's worker sets them.
    if (env.backends.onnx.wasm) {
      env.backends.onnx.wasm.wasmPaths = { wasm: ortWasmUrl, mjs: ortFactoryUrl };
      env.backends.onnx.wasm.numThreads = threads.threads;
    }
    env.allowLocalModels = true;
    env.allowRemoteModels = false;
    env.useBrowserCache = false;
    const slash = job.base.lastIndexOf('/');
    env.localModelPath = `${job.base.slice(0, slash)}/`;
    const device = job.backend === 'webgpu' ? 'webgpu' : 'wasm';
    visionEncoderMs = await measureVisionEncoder(job.base.slice(slash + 1), reference, device);
    log(`  vision encoder (${device}) ${Math.round(visionEncoderMs)} ms`);
    transformersJsVoteMs = await measureTransformersJs(
      job.base.slice(slash + 1),
      reference,
      job.options,
      device,
    );
    log(`  transformers.js (${device}) vote ${Math.round(transformersJsVoteMs)} ms`);
  }
  return {
    engine,
    peakBytes,
    peakGpuBytes,
    transformersJsVoteMs,
    visionEncoderMs,
    gpu: adapter ? describeGpuAdapter(adapter) : null,
    crossOriginIsolated: threads.crossOriginIsolated,
    threads: threads.threads,
  };
}

const job = JSON.parse(new URLSearchParams(location.search).get('job') ?? 'null') as PageJob;
(window as unknown as { benchScale: Promise<PageResult> }).benchScale = run(job);
