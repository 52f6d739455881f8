// bench:scale's counted WebGPU costs of one model (issue 25, part 3): what a fresh page pays for
// its first TTRV step (pipelines compiled), and what every decoded token and every GRPO step asks
// of the GPU (dispatches, host round trips, bytes bound as inputs), counted on jax-js' WebGPU
// device by ../gpu-counter.ts. None of it depends on the GPU, so SwiftShader counts what a real
// adapter would run; a roofline turns the counts into times on a stated reference GPU.
//
// Definitions (the vote and GRPO step are bench:scale's: `rows` × `new_tokens`, then a GRPO step
// on `train_rows` completions, tools/lib/bench-step.ts):
//   pipelines_compiled_first_step  compute pipelines created from loading the model to the end of
//                       the first TTRV step (vote + GRPO step), in a process that had compiled
//                       none: what a fresh page compiles before its first step ends
//   dispatches_per_decode_token    compute dispatches of one decode step of all rows (the tokens
//                       after the first: the prefill gives the first), counted between decoded
//                       tokens and averaged over them
//   host_syncs_per_decode_token    the same for host round trips (mapAsync, onSubmittedWorkDone)
//   bytes_read_per_decode_token    the same for Σ over dispatches of the buffers each binds as
//                       read-only input: weights, KV cache and activations, each counted once
//                       per dispatch that binds it (a kernel that rereads a buffer from its cache
//                       counts once; one that binds it twice, twice)
//   dispatches_per_grpo_step, host_syncs_per_grpo_step  the same over one GRPO step
//   vote / step totals (`counted`) and a roofline estimate for `reference_gpu`:
//     time = max(bytes read / bandwidth, FLOPs / FLOP/s) + dispatches × per-dispatch cost
//     FLOPs: 2 per weight of the projections and the head per token processed (vote: the prompt
//     once and rows × new_tokens; step: forward, the recomputed forward and the backward to the
//     inputs, 6 per weight, over the prompt and train_rows × the bucketed length), attention's
//     own FLOPs and host round trips left out (the first is small at these lengths, the second is
//     what the cuts remove).
import { getWebGPUDevice, type numpy as np, tree } from '@jax-js/jax';
import type { TextModel } from '../../../src/engine';
import { disposeModel, initLora, initTrainState, sample } from '../../../src/engine';
import { BENCH_LORA, BENCH_VOTE, runBenchStep, withAlternatingAdvantages } from '../bench-step';
import { countGpu, countsBetween, type GpuCounts } from '../gpu-counter';
import type { ScaleOptions } from './measure';

/**
 * The roofline's GPU: a mid-range desktop card a person may run the playground on. Bandwidth and
 * FP32 rate from NVIDIA's GeForce RTX 3060 (12 GB) specification; the per-dispatch cost is the
 * WebGPU API overhead per dispatch on Vulkan measured by J. Maczan, "Characterizing WebGPU
 * Dispatch Overhead for LLM Inference Across Four GPU Vendors, Three Backends, and Three
 * Browsers", arXiv:2604.02344 (2026): 24–36 µs; the middle, 30 µs, is used.
 */
export const REFERENCE_GPU = {
  name: 'NVIDIA GeForce RTX 3060 12 GB (WebGPU on Vulkan)',
  bandwidth_gb_per_s: 360,
  fp32_tflop_per_s: 12.74,
  dispatch_us: 30,
  dispatch_source: 'arXiv:2604.02344 (Maczan 2026): 24-36 us per dispatch on Vulkan',
} as const;

export type PhaseCounts = {
  dispatches: number;
  host_syncs: number;
  submits: number;
  bytes_read: number;
  bytes_uploaded: number;
};

const phase = (c: GpuCounts): PhaseCounts => ({
  dispatches: c.dispatches,
  host_syncs: c.hostSyncs,
  submits: c.submits,
  bytes_read: c.bytesRead,
  bytes_uploaded: c.bytesUploaded,
});

const per = (c: GpuCounts, n: number) => {
  const out = { ...c };
  for (const k of Object.keys(out) as (keyof GpuCounts)[]) out[k] = Math.round(out[k] / n);
  return out;
};

/** Weights a token is multiplied by: the seven projections of every layer and the head. */
function matmulWeights(model: TextModel): number {
  const c = model.config;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const layer = c.hiddenSize * (2 * q + 2 * kv) + 3 * c.hiddenSize * c.intermediateSize;
  return c.numLayers * layer + c.vocabSize * c.hiddenSize;
}

function roofline(counts: GpuCounts, flops: number) {
  const g = REFERENCE_GPU;
  const memoryMs = counts.bytesRead / (g.bandwidth_gb_per_s * 1e6);
  const computeMs = flops / (g.fp32_tflop_per_s * 1e9);
  const dispatchMs = (counts.dispatches * g.dispatch_us) / 1000;
  return {
    ms: Number((Math.max(memoryMs, computeMs) + dispatchMs).toFixed(2)),
    memory_ms: Number(memoryMs.toFixed(2)),
    compute_ms: Number(computeMs.toFixed(2)),
    dispatch_ms: Number(dispatchMs.toFixed(2)),
  };
}

export type GpuCosts = Awaited<ReturnType<typeof countGpuCosts>>;

/**
 * Loads a model with `load` and runs bench:scale's vote and GRPO step on jax-js' WebGPU device
 * (init('webgpu') done, nothing compiled yet in this process), counting. `prompt` gives the
 * prompt's embeddings [1, P, D] for the loaded model (they are disposed here).
 */
export async function countGpuCosts(
  load: () => Promise<TextModel>,
  prompt: (model: TextModel) => Promise<np.Array>,
  opts: ScaleOptions,
  log: (s: string) => void,
) {
  const counter = countGpu(getWebGPUDevice());
  const start = counter.now();
  const model = await load();
  model.layersPerProgram = opts.layersPerProgram;
  const promptEmbeds = await prompt(model);
  const promptTokens = promptEmbeds.shape[1] as number;
  let state = initTrainState({
    config: BENCH_LORA.settings,
    params: initLora(model.config, BENCH_LORA.settings, BENCH_LORA.seed),
  });
  const afterLoad = counter.now();

  /** One vote, with the counts at each point between decoded tokens (sampling checks its
   * signal there, so its own code is untouched). */
  const vote = async () => {
    const marks: GpuCounts[] = [];
    const signal = new AbortController().signal;
    const check = signal.throwIfAborted.bind(signal);
    signal.throwIfAborted = () => {
      marks.push(counter.now());
      check();
    };
    const before = counter.now();
    const votes = await sample(model, state.adapter, promptEmbeds, {
      numRows: opts.rows,
      maxNewTokens: opts.newTokens,
      ...BENCH_VOTE,
      signal,
    });
    // marks: before the prefill, after the first token, after every decode step.
    const decodeSteps = marks.length - 2;
    const first = marks[1] as GpuCounts;
    const last = marks[marks.length - 1] as GpuCounts;
    return {
      votes,
      total: countsBetween(before, counter.now()),
      perToken: decodeSteps > 0 ? per(countsBetween(first, last), decodeSteps) : null,
    };
  };
  const step = async (completions: ReturnType<typeof withAlternatingAdvantages>) => {
    const before = counter.now();
    state = await runBenchStep(model, state, promptEmbeds, completions, opts.microBatchSize);
    return countsBetween(before, counter.now());
  };

  let v = await vote();
  const completions = withAlternatingAdvantages(v.votes.tokens.slice(0, opts.trainRows));
  let s = await step(completions);
  const firstStep = countsBetween(start, counter.now());
  log(`  first step: ${firstStep.pipelines} pipelines compiled (${afterLoad.pipelines} in load)`);
  // Steady counts from a second vote and step (the same unless compiling adds work), unless once.
  if (!opts.once) {
    v = await vote();
    s = await step(completions);
  }
  counter.stop();
  tree.dispose([promptEmbeds, state.adapter.params, state.moments]);
  const weights = matmulWeights(model);
  disposeModel(model);
  const trainedLength = Math.ceil(opts.newTokens / 8) * 8;
  const voteFlops = 2 * weights * (promptTokens + opts.rows * opts.newTokens);
  const stepFlops = 6 * weights * (promptTokens + opts.trainRows * trainedLength);
  const token = v.perToken;
  return {
    prompt_tokens: promptTokens,
    pipelines_compiled_first_step: firstStep.pipelines,
    pipelines_compiled_in_load: countsBetween(start, afterLoad).pipelines,
    dispatches_per_decode_token: token?.dispatches ?? null,
    dispatches_per_grpo_step: s.dispatches,
    host_syncs_per_decode_token: token?.hostSyncs ?? null,
    host_syncs_per_grpo_step: s.hostSyncs,
    bytes_read_per_decode_token: token?.bytesRead ?? null,
    counted: { vote: phase(v.total), grpo_step: phase(s) },
    reference_gpu: REFERENCE_GPU,
    roofline_vote: { ...roofline(v.total, voteFlops), flops: voteFlops },
    roofline_grpo_step: { ...roofline(s, stepFlops), flops: stepFlops },
  };
}
