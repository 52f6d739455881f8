// The decoder as compiled programs over groups of consecutive layers.
//
// jit of the whole model is one program whose compile time grows with depth and which keeps every
// layer's intermediates (and every dequantised weight) alive until it ends: at SmolVLM-256M's 30
// layers a GRPO step on 8 completions took 406 s (the first one 16–26 minutes, mostly compiling)
// and 3.8 GB (docs/decisions/0027-one-compiled-program-per-layer.md). So the layers run in groups
// of `layersPerProgram` (default 1); every group has the same shapes, so one compiled program
// serves them all, and what a group leaves behind is only its output (and, for prefill and
// decode, its KV). jax-js is lazy: calls only queue work until something waits for it, and a
// queued program holds every buffer it allocated until its work is submitted. So each run below
// submits every group's work before calling the next (`submitted`); queuing a whole step instead
// made it 2.5× slower and took 3.5 GB instead of 1.3 GB at that size on Wasm. On Wasm submitting
// is running, and the run waits for it; on WebGPU it hands the work to the GPU's queue without
// waiting for the GPU, so a decoded token costs one host round trip (its logits), not one per
// layer (docs/decisions/0048-webgpu-submits-without-waiting.md).
//
// Training differentiates group by group (gradient checkpointing at group boundaries): a forward
// pass keeps each group's input, the head gives the cotangent of the last hidden states, and
// each group, last to first, recomputes its forward inside grad and returns its LoRA gradients and
// the cotangents of its inputs. The gradient equals that of the whole model (tests/engine/golden
// and gradcheck hold it to PyTorch and to finite differences).
import type { JsTree } from '@jax-js/jax';
import { grad, jit, numpy as np, tree } from '@jax-js/jax';
import type {
  DecodeInputs,
  LayerKV,
  LayerLora,
  LayerWeights,
  LoraParams,
  ModelSpec,
  PrefixInputs,
  PrefixTables,
  RowInputs,
  RowTables,
} from './decoder';
import { decodeLayers, extendLayers, prefillLayers } from './decoder';
import type { Adapter, TextModel } from './model';
import { cachedJit, specOf } from './model';
import { embedRows, type Weight } from './quant';

/** Layers per compiled program when the model does not say (see the header). */
export const DEFAULT_LAYERS_PER_PROGRAM = 1;

/** [start, stop) of each group of layers. */
export function layerGroups(model: TextModel): [number, number][] {
  const total = model.weights.layers.length;
  const size = Math.max(1, Math.min(total, model.layersPerProgram ?? DEFAULT_LAYERS_PER_PROGRAM));
  const out: [number, number][] = [];
  for (let a = 0; a < total; a += size) out.push([a, Math.min(total, a + size)]);
  return out;
}

/**
 * `t` once its queued work is submitted, which frees what that work allocated: on WebGPU without
 * waiting for the GPU (gpuBuffer() submits and returns the buffer, consuming a reference), on
 * Wasm by running it.
 */
async function submitted<T extends JsTree<np.Array>>(t: T): Promise<T> {
  for (const x of tree.leaves(t) as np.Array[]) {
    if (x.device === 'webgpu') await x.ref.gpuBuffer();
    else await x.blockUntilReady();
  }
  return t;
}

type Group = { layers: LayerWeights[]; lora: LayerLora[] | null };

/** New references to one group's frozen weights and LoRA. */
function groupOf(model: TextModel, adapter: Adapter | null, [a, b]: [number, number]): Group {
  return {
    layers: tree.ref(model.weights.layers.slice(a, b)),
    lora: adapter ? tree.ref(adapter.params.layers.slice(a, b)) : null,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the rest arguments of a compiled group program
type Rest = any[];

/**
 * A compiled program over one group of layers, with the adapter's LoRA or without it (jit takes no
 * null arguments, so "adapter off" is its own program). Keyed by mode and LoRA scale; jit compiles
 * once per input shape.
 */
function groupProgram<A extends Rest, R extends JsTree<np.Array>>(
  model: TextModel,
  adapter: Adapter | null,
  mode: string,
  body: (spec: ModelSpec, layers: LayerWeights[], lora: LayerLora[] | null, ...rest: A) => R,
): (group: Group, ...rest: A) => R {
  const spec = specOf(model, adapter);
  if (!adapter) {
    const f = cachedJit(model, `${mode}/off`, () =>
      jit((layers: LayerWeights[], ...rest: A) => body(spec, layers, null, ...rest)),
    );
    const call = f as unknown as (...args: Rest) => R;
    return (group, ...rest) => call(group.layers, ...rest);
  }
  const f = cachedJit(model, `${mode}/lora${spec.loraScale}`, () =>
    jit((layers: LayerWeights[], lora: LayerLora[], ...rest: A) =>
      body(spec, layers, lora, ...rest),
    ),
  );
  const call = f as unknown as (...args: Rest) => R;
  return (group, ...rest) => call(group.layers, group.lora, ...rest);
}

/**
 * The prompt through every layer: hidden states [1, P, D] before the final norm and every layer's
 * keys and values. Consumes `input`.
 */
export async function runPrefill(
  model: TextModel,
  adapter: Adapter | null,
  input: PrefixInputs,
): Promise<{ x: np.Array; kv: LayerKV[] }> {
  const run = groupProgram(model, adapter, 'prefill', prefillLayers);
  const { embeds, ...tables } = input;
  let x = embeds;
  const kv: LayerKV[] = [];
  for (const bounds of layerGroups(model)) {
    const out = run(groupOf(model, adapter, bounds), x, tree.ref(tables));
    x = await submitted(out.x);
    kv.push(...out.kv);
  }
  tree.dispose(tables);
  return { x, kv };
}

/**
 * Teacher-forced rows after the prompt (`prefixKV`, borrowed) through every layer: hidden states
 * [B, L, D] before the final norm. Consumes `input`.
 */
export async function runExtend(
  model: TextModel,
  adapter: Adapter | null,
  prefixKV: LayerKV[],
  input: RowInputs,
): Promise<np.Array> {
  const run = groupProgram(model, adapter, 'extend', extendLayers);
  const { embeds, ...tables } = input;
  let x = embeds;
  for (const [a, b] of layerGroups(model)) {
    x = await submitted(
      run(groupOf(model, adapter, [a, b]), tree.ref(prefixKV.slice(a, b)), x, tree.ref(tables)),
    );
  }
  tree.dispose(tables);
  return x;
}

/** Embeddings [B, 1, D] of one token per row, gathered on the device. Consumes `tokens`. */
function embedStep(model: TextModel, tokens: np.Array): np.Array {
  const f = cachedJit(model, 'embed-step', () =>
    jit((table: Weight, ids: np.Array) =>
      embedRows(table, ids).reshape([ids.shape[0] as number, 1, -1]),
    ),
  );
  return f(tree.ref(model.weights.embed), tokens);
}

/**
 * One decode step through every layer (see decodeLayers): hidden states [B, 1, D] before the final
 * norm and the updated cache. Borrows `prefixKV`; consumes `cache` and `input`.
 */
export async function runDecode(
  model: TextModel,
  adapter: Adapter | null,
  prefixKV: LayerKV[],
  cache: LayerKV[],
  input: DecodeInputs,
): Promise<{ x: np.Array; cache: LayerKV[] }> {
  const run = groupProgram(model, adapter, 'decode', decodeLayers);
  const { tokens, ...tables } = input;
  let x = embedStep(model, tokens);
  const next: LayerKV[] = [];
  for (const [a, b] of layerGroups(model)) {
    const out = run(
      groupOf(model, adapter, [a, b]),
      tree.ref(prefixKV.slice(a, b)),
      cache.slice(a, b),
      x,
      tree.ref(tables),
    );
    x = await submitted(out.x);
    next.push(...out.cache);
  }
  tree.dispose(tables);
  return { x, cache: next };
}

/** A training group's inputs: the prompt's hidden states and the rows'. */
export type GroupActivations = { x: np.Array; r: np.Array };
export type TrainTables = { prefix: PrefixTables; rows: RowTables };

/** One group in training: the prompt through it (with LoRA: the rows' keys depend on it), then
 * the rows after the prompt. Consumes everything. */
function trainLayers(
  spec: ModelSpec,
  layers: LayerWeights[],
  lora: LayerLora[],
  acts: GroupActivations,
  tables: TrainTables,
): GroupActivations {
  const { x, kv } = prefillLayers(spec, tree.ref(layers), tree.ref(lora), acts.x, tables.prefix);
  return { x, r: extendLayers(spec, layers, lora, kv, acts.r, tables.rows) };
}

/**
 * The forward pass of training: every group's input (kept for the backward pass) and the rows'
 * hidden states after the last layer, before the final norm. Consumes `acts` and `tables`.
 */
export async function trainForward(
  model: TextModel,
  adapter: Adapter,
  acts: GroupActivations,
  tables: TrainTables,
): Promise<{ inputs: GroupActivations[]; r: np.Array }> {
  const spec = specOf(model, adapter);
  const run = cachedJit(model, `train-forward/${spec.loraScale}`, () =>
    jit((layers: LayerWeights[], lora: LayerLora[], a: GroupActivations, t: TrainTables) =>
      trainLayers(spec, layers, lora, a, t),
    ),
  );
  const inputs: GroupActivations[] = [];
  for (const bounds of layerGroups(model)) {
    inputs.push(tree.ref(acts));
    const g = groupOf(model, adapter, bounds);
    acts = await submitted(run(g.layers, g.lora as LayerLora[], acts, tree.ref(tables)));
  }
  tree.dispose([tables, acts.x]);
  return { inputs, r: acts.r };
}

/**
 * The backward pass: from the cotangent `dr` of the last rows' hidden states, each group (last to
 * first) recomputes its forward from its kept input and returns its LoRA gradients and its input's
 * cotangents. Consumes `inputs`, `tables` and `dr`.
 */
export async function trainBackward(
  model: TextModel,
  adapter: Adapter,
  inputs: GroupActivations[],
  tables: TrainTables,
  dr: np.Array,
): Promise<LoraParams> {
  const spec = specOf(model, adapter);
  // Σ out · cotangent: its gradient with respect to (lora, input) is the group's vector-Jacobian
  // product with the cotangent.
  const pullback = cachedJit(model, `train-backward/${spec.loraScale}`, () =>
    jit(
      grad(
        (
          lora: LayerLora[],
          a: GroupActivations,
          layers: LayerWeights[],
          t: TrainTables,
          cot: GroupActivations,
        ) => {
          const out = trainLayers(spec, layers, lora, a, t);
          return out.x.mul(cot.x).sum().add(out.r.mul(cot.r).sum());
        },
        { argnums: [0, 1] },
      ),
    ),
  );
  const groups = layerGroups(model);
  const grads: LayerLora[] = new Array(model.weights.layers.length);
  let cot: GroupActivations = { x: np.zerosLike((inputs[0] as GroupActivations).x.ref), r: dr };
  for (let g = groups.length - 1; g >= 0; g--) {
    const bounds = groups[g] as [number, number];
    const group = groupOf(model, adapter, bounds);
    const [loraGrads, inputCot] = pullback(
      group.lora as LayerLora[],
      inputs[g] as GroupActivations,
      group.layers,
      tree.ref(tables),
      cot,
    ) as [LayerLora[], GroupActivations];
    loraGrads.forEach((l, i) => {
      grads[bounds[0] + i] = l;
    });
    cot = await submitted(inputCot);
  }
  tree.dispose([tables, cot]);
  return { layers: grads };
}
