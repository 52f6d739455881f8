// LoRA as its own parameter tree beside the frozen weights, in PEFT's layout and naming.
// y = x Wᵀ + (lora_alpha / r) · (x Aᵀ) Bᵀ with A [r, in] and B [out, r]; PEFT's default
// initialisation (A Kaiming-uniform with a = √5, i.e. U(±1/√in); B zeros) makes step 0 equal
// the base model. Switching the adapter off is passing `null`: no weights are copied.
import type { Device } from '@jax-js/jax';
import { numpy as np, random } from '@jax-js/jax';
import { loraTensorName } from '../formats/peftAdapter';
import type { Float32Tensor } from '../formats/safetensors';
import type { LoraTargetModule } from '../rl/config';
import type { TextConfig } from './config';
import type { LayerLora, LoraParams, Projection } from './decoder';
import { PROJECTIONS } from './decoder';

/** PEFT LoraConfig fields that change the computation. */
export type LoraConfig = {
  r: number;
  loraAlpha: number;
  /** PEFT names: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj. */
  targetModules: string[];
};

export function loraScale(cfg: LoraConfig): number {
  return cfg.loraAlpha / cfg.r;
}

/** The projections a LoraConfig targets, validated. */
export function targetedProjections(cfg: LoraConfig): Projection[] {
  return cfg.targetModules.map((name) => {
    const p = PROJECTIONS.find((q) => moduleName(q) === name);
    if (!p) throw new Error(`unknown LoRA target module "${name}"`);
    return p;
  });
}

/** [out, in] of a projection. */
export function projectionShape(config: TextConfig, p: Projection): [number, number] {
  const d = config.hiddenSize;
  const q = config.numHeads * config.headDim;
  const kv = config.numKvHeads * config.headDim;
  const f = config.intermediateSize;
  const shapes: Record<Projection, [number, number]> = {
    q: [q, d],
    k: [kv, d],
    v: [kv, d],
    o: [d, q],
    gate: [f, d],
    up: [f, d],
    down: [d, f],
  };
  return shapes[p];
}

/** PEFT initialisation from a seed: A ~ U(-1/√in, 1/√in), B = 0. */
export function initLora(
  config: TextConfig,
  cfg: LoraConfig,
  seed: number,
  opts: { device?: Device; dtype?: np.DType } = {},
): LoraParams {
  const projections = targetedProjections(cfg);
  const dtype = opts.dtype ?? np.float32;
  const keys = random.split(random.key(seed), config.numLayers * projections.length);
  const perTensor = np.unstack(keys);
  const layers: LayerLora[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const layer: LayerLora = {};
    for (const p of projections) {
      const [out, inp] = projectionShape(config, p);
      const bound = 1 / Math.sqrt(inp);
      const key = perTensor.shift() as np.Array;
      const a = random.uniform(key, [cfg.r, inp], { minval: -bound, maxval: bound });
      layer[p] = {
        a: dtype === np.float32 ? a : a.astype(dtype),
        b: np.zeros([out, cfg.r], { dtype, device: opts.device }),
      };
    }
    layers.push(layer);
  }
  return { layers };
}

function moduleName(p: Projection): LoraTargetModule {
  return `${p}_proj`;
}

/** The adapter's tensors under PEFT's key names (lora_A r × in, lora_B out × r), on the host. */
export async function exportLoraTensors(params: LoraParams): Promise<Float32Tensor[]> {
  const out: Float32Tensor[] = [];
  for (const [layer, pairs] of params.layers.entries()) {
    for (const p of PROJECTIONS) {
      const pair = pairs[p];
      if (!pair) continue;
      for (const [which, array] of [
        ['A', pair.a],
        ['B', pair.b],
      ] as const) {
        out.push({
          name: loraTensorName(layer, moduleName(p), which),
          dtype: 'F32',
          shape: array.shape,
          data: Float32Array.from(await array.ref.data()),
        });
      }
    }
  }
  return out;
}

/** An adapter's parameters from PEFT-named tensors (as importAdapterZip returns them). */
export function importLoraTensors(
  config: TextConfig,
  cfg: LoraConfig,
  tensors: ReadonlyMap<string, Float32Array>,
  opts: { device?: Device } = {},
): LoraParams {
  const layers: LayerLora[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const layer: LayerLora = {};
    for (const p of targetedProjections(cfg)) {
      const [out, inp] = projectionShape(config, p);
      const load = (which: 'A' | 'B', shape: [number, number]) => {
        const name = loraTensorName(l, moduleName(p), which);
        const data = tensors.get(name);
        if (!data || data.length !== shape[0] * shape[1]) {
          throw new Error(`adapter tensor ${name}: expected [${shape.join(', ')}]`);
        }
        return np.array(data, { device: opts.device }).reshape(shape);
      };
      layer[p] = { a: load('A', [cfg.r, inp]), b: load('B', [out, cfg.r]) };
    }
    layers.push(layer);
  }
  return { layers };
}
