// The engine at real model sizes: SmolVLM-256M / -500M-shaped checkpoints written by
// tools/real-size/build.py, through the app's own loader, prompt path, sampling and GRPO step,
// against transformers.js' generate() on the same checkpoint, prompt and rows.
// `npm run bench:scale -- --json [--shapes 256m,500m] [--rows 16] [--new-tokens 16]
//  [--train-rows 8] [--micro-batch N] [--weights f32|q8|q4] [--backend wasm|webgpu]
//  [--layers-per-program N] [--no-transformersjs] [--once] [--dir-<shape> DIR]
//  [--gpu-costs [--gpu-cost-shapes demo,256m] [--gpu-costs-only]]`;
// the last line printed is one JSON object (contract: issue 15, docs/engine.md; `settings`: the
// adapter, vote and GRPO step timed, tools/lib/bench-step.ts).
// `--browser [--backends webgpu,wasm]` runs the same measurement in a page of headless Chromium
// (tools/lib/scale/browser.ts): each backend of each shape in a fresh page, transformers.js on
// onnxruntime-web's provider of the same name; the JSON gains the browser and GPU adapter.
// `--isolation on,off` (default on) runs the Wasm rows with the app's COOP/COEP headers and
// without: each row says `cross_origin_isolated` and `threads` (the CPU path's, jax-js' and
// onnxruntime-web's), and `vision_encoder_ms` (the fp32 vision encoder on the reference pixels,
// steady run, on onnxruntime-web's provider of the row's backend).
//
// Definitions (one prompt: the checkpoint's 97-token reference prompt with its 64 image features):
//   load_ms              loadTextModel from model.safetensors (BF16 → the device format)
//   peak_bytes           Wasm: the largest size jax-js' linear memory reached (it never shrinks)
//                        over load + every call below; the shapes run in the order given
//                        (default: smallest first) in one process, so a later shape's value is
//                        the larger of its own peak and the earlier ones' (one shape per
//                        process gives its own). WebGPU: peak bytes of live GPU buffers (jax-js'
//                        pool included), per shape
//                        (in the page: the engine's Wasm memory only, before transformers.js runs)
//   peak_gpu_bytes       the WebGPU figure again (null on Wasm)
//   prefill_ms / _first  the prompt's prefill as the app runs it (layers in compiled groups) with
//                        logits at its reference positions; _first includes compilation
//   vote_ms / _first     `rows` samples of `new_tokens` at temperature 1 (no EOS stop)
//   grpo_step_ms / _first  one GRPO step (loss, gradients, AdamW) on the vote's first
//                        `train_rows` completions with advantages ±1, β = 0 (TTRV's protocol)
//   transformersjs_device   where transformers.js ran: cpu (onnxruntime-node), wasm or webgpu
//   transformersjs_vote_ms  transformers.js generate() sampling `rows` rows of
//                        `new_tokens` from the same prompt's token ids, repeated `rows` times
//                        (no pixels: the engine's vote does not run the vision encoder either)
//   ratio                transformersjs_vote_ms / vote_ms (above 1: the engine is faster)
//   runs                 2: each phase ran twice (first, then steady); 1 with --once (for a
//                        backend too slow for two passes): the steady fields are then null
//   logits_max_abs_error prefill logits vs the PyTorch float32 reference the build wrote
// --gpu-costs adds `gpu_costs`, one entry per model (default: the demo model and every shape)
// counted on WebGPU whatever --backend is: pipelines compiled by the first step, dispatches, host
// syncs and bytes read per decode token and per GRPO step, and a roofline of vote and step on a
// reference GPU (definitions: tools/lib/scale/gpu-costs.ts); --gpu-costs-only skips the timings.
// Rows, tokens and trained completions are the ones measured, printed in every shape's entry:
// nothing is extrapolated.
//
// `--browser` then measures the playground's own path (tools/lib/scale/app-path.ts): each shape on
// each backend from each of `--app-sources folder,http` (default both; `none` skips them;
// `--app-only` skips the engine rows), through the app's worker and core, as `app_path` entries:
//   source               folder: picked in the page's folder input (the files, not their bytes,
//                        reach the browser, as with "Local folder…"); http: served at the URL the
//                        app reads the demo model from (Range requests and the Cache API copy
//                        that makes a cut download resume, as from the Hub)
//   load_ms              loadModel as the page waits for it, from a worker that has started: until
//                        the model is reported ready (text weights, processor, which vision file
//                        exists)
//   vision_ready_ms      from the same start until the vision encoder's session exists: it is
//                        created after "ready", while a person picks an image (decision 0051)
//   load_phases          read_files_ms (the vision encoder's file + the waits for text-weight
//                        bytes), convert_weights_ms (text weights to the device format),
//                        vision_session_ms (onnxruntime-web's session, its Wasm start included),
//                        processor_ms (processor and tokenizer): the loader's own reports; they
//                        run side by side, so they may sum to more than vision_ready_ms.
//                        first_prompt_ms: the first step's prompt (processor on the image, the
//                        vision encoder's pass, the embeddings), paid once per image and question;
//                        the benchmark steps as soon as the model is ready, so it includes the
//                        wait for the vision session
//   step_first_ms / step_ms  the page's step() call, first (prompt + compilation) and second
//   vote_ms / grpo_step_ms   the second step's vote and update as the worker reports them
//                        (num_votes = rows, max_completion_length = new_tokens, num_generations =
//                        train_rows, the app's other defaults; EOS ends rows as in the app)
//   compare_ms           compare() after the steps: greedy and num_votes samples, adapter off and on
import 'core-js/actual/iterator/index.js';
// Before @jax-js/jax: it watches the Wasm memory jax-js creates when its module loads.
import '../lib/wasm-memory';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import type { Device } from '@jax-js/jax';
import { defaultDevice, init } from '@jax-js/jax';
import type { GpuMemoryCounter, WeightFormat } from '../../src/engine';
import { trackGpuMemory } from '../../src/engine';
import { benchStepSettings } from '../lib/bench-step';
import { setupNode } from '../lib/node-gpu';
import { defaultDir, fileReader, readReference, serveModel } from '../lib/real-size-check';
import type { AppSource } from '../lib/scale/app-page';
import { APP_SOURCES } from '../lib/scale/app-path';
import { type Isolation, runInBrowser } from '../lib/scale/browser';
import { gpuCostShapes, gpuCostsInChildren, gpuCostsOf } from '../lib/scale/gpu-costs-node';
import {
  type Checkpoint,
  measureEngine,
  measureTransformersJs,
  ms,
  type ScaleOptions,
  shapeEntry,
} from '../lib/scale/measure';
import { wasmMemoryPeak } from '../lib/wasm-memory';

export type ScaleArgs = ScaleOptions & {
  appSources: AppSource[];
  appOnly: boolean;
  json: boolean;
  shapes: string[];
  dirs: Record<string, string>;
  backend: Device;
  /** --browser: the backends measured in the page, in this order. */
  browser: Device[] | null;
  transformersjs: boolean;
  /** --gpu-costs: the models whose WebGPU costs are counted (each in a child process). */
  gpuCosts: string[] | null;
  gpuCostsOnly: boolean;
  /** Set in such a child: the one model it counts. */
  gpuCostsOf: string | null;
  /** --browser: the page cross-origin isolated or not (tools/lib/scale/browser.ts). */
  isolation: Isolation[];
};

function parseArgs(argv: string[]): ScaleArgs {
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const shapes = (value('--shapes') ?? '256m,500m').split(',');
  const rows = Number(value('--rows') ?? 16);
  const trainRows = Number(value('--train-rows') ?? 8);
  return {
    json: argv.includes('--json'),
    shapes,
    dirs: Object.fromEntries(shapes.map((s) => [s, value(`--dir-${s}`) ?? defaultDir(s)])),
    backend: (value('--backend') ?? 'wasm') as Device,
    browser: argv.includes('--browser')
      ? ((value('--backends') ?? 'webgpu,wasm').split(',') as Device[])
      : null,
    weights: (value('--weights') ?? 'f32') as WeightFormat,
    rows,
    newTokens: Number(value('--new-tokens') ?? 16),
    trainRows,
    microBatchSize: Number(value('--micro-batch') ?? trainRows),
    ...(value('--layers-per-program')
      ? { layersPerProgram: Number(value('--layers-per-program')) }
      : {}),
    transformersjs: !argv.includes('--no-transformersjs'),
    isolation: (value('--isolation') ?? 'on').split(',') as Isolation[],
    once: argv.includes('--once'),
    gpuCosts: argv.includes('--gpu-costs')
      ? gpuCostShapes(value('--gpu-cost-shapes'), shapes)
      : null,
    gpuCostsOnly: argv.includes('--gpu-costs-only'),
    gpuCostsOf: value('--gpu-costs-of') ?? null,
    appSources: appSources(value('--app-sources')),
    appOnly: argv.includes('--app-only'),
  };
}

/** --app-sources folder,http (the default) or none. */
function appSources(value: string | undefined): AppSource[] {
  if (value === 'none') return [];
  const sources = (value ?? APP_SOURCES.join(',')).split(',') as AppSource[];
  const unknown = sources.filter((s) => !APP_SOURCES.includes(s));
  if (unknown.length > 0) {
    throw new Error(`--app-sources: ${unknown.join(', ')}? Use folder, http or none.`);
  }
  return sources;
}

/** The build's facts about a checkpoint folder, or a sentence saying how to make one. */
export function readBuild(shape: string, dir: string): { repo: string; params_text: number } {
  if (!existsSync(path.join(dir, 'ttrv/build.json'))) {
    throw new Error(
      `No ${shape} checkpoint in ${dir}: build it with \`/usr/bin/python3 tools/real-size/build.py --shape ${shape}\` (tools/real-size/README.md), or pass --dir-${shape} DIR.`,
    );
  }
  return JSON.parse(readFileSync(path.join(dir, 'ttrv/build.json'), 'utf8'));
}

/** transformers.js on onnxruntime-node, the checkpoint served from 127.0.0.1 as the Hub. */
async function transformersJsInNode(dir: string, args: ScaleArgs): Promise<number> {
  const served = await serveModel(
    dir,
    (file) => file.startsWith('ttrv/') || file.endsWith('.safetensors') || file.includes('fp16'),
  );
  try {
    return await measureTransformersJs(served.name, readReference(dir), args, 'cpu');
  } finally {
    await served.close();
  }
}

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  // With --json, progress goes to stderr so that stdout is the JSON alone.
  const log = (msg: string) => (args.json ? console.error(msg) : console.log(msg));
  if (args.gpuCostsOf) {
    const shape = args.gpuCostsOf;
    console.log(
      JSON.stringify(
        await gpuCostsOf(shape, args.dirs[shape] ?? defaultDir(shape), args, console.error),
      ),
    );
    return;
  }
  // Before anything of this process runs on the GPU: each model in a child of its own.
  const gpuCosts = args.gpuCosts ? await gpuCostsInChildren(args.gpuCosts) : undefined;
  if (args.browser) {
    const builds = Object.fromEntries(
      args.shapes.map((s) => [s, readBuild(s, args.dirs[s] as string)]),
    );
    const measured = await runInBrowser(args, builds, log);
    console.log(
      JSON.stringify({
        ...measured,
        ...(gpuCosts ? { gpu_costs: gpuCosts } : {}),
        settings: benchStepSettings(args.microBatchSize),
      }),
    );
    return;
  }
  await setupNode(args.backend);
  const devices = await init(args.backend);
  if (!devices.includes(args.backend)) throw new Error(`backend ${args.backend} is not available`);
  defaultDevice(args.backend);
  const counter: GpuMemoryCounter | null = args.backend === 'webgpu' ? trackGpuMemory() : null;
  const shapes = [];
  for (const shape of args.gpuCostsOnly ? [] : args.shapes) {
    const dir = args.dirs[shape] as string;
    const build = readBuild(shape, dir);
    log(`${shape}: ${build.repo} shape, ${args.weights} weights on ${args.backend}`);
    const load = loadavg()[0] as number;
    counter?.resetPeak();
    const checkpoint: Checkpoint = {
      hubConfig: JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')),
      weights: fileReader(path.join(dir, 'model.safetensors')),
      reference: readReference(dir),
    };
    const e = await measureEngine(checkpoint, args, log);
    const memory = {
      peakBytes: args.backend === 'wasm' ? wasmMemoryPeak() : (counter?.peak() ?? null),
      peakGpuBytes: counter ? counter.peak() : null,
    };
    const theirs = args.transformersjs ? await transformersJsInNode(dir, args) : null;
    if (theirs !== null) log(`  transformers.js vote ${ms(theirs)} ms`);
    shapes.push(
      shapeEntry(shape, build, args.backend, args, e, memory, { device: 'cpu', voteMs: theirs }, [
        Number(load.toFixed(2)),
        Number((loadavg()[0] as number).toFixed(2)),
      ]),
    );
  }
  console.log(
    JSON.stringify({
      shapes,
      backend: args.backend,
      ...(gpuCosts ? { gpu_costs: gpuCosts } : {}),
      settings: benchStepSettings(args.microBatchSize),
    }),
  );
}
