// LoRA as its own parameter tree beside the frozen weights, in PEFT's layout and naming.
// y = x Wᵀ + (lora_alpha / r) · (x Aᵀ) Bᵀ with A [r, in] and B [out, r]; PEFT's default
// initialisation (A Kaiming-uniform with a = √5, i.e. U(±1/√in); B zeros) makes step 0 equal
// the base model. Switching the adapter off is passing `null`: no weights are copied.
import type { Device } from '@jax-js/jax';
import { numpy as np, random } from '@jax-js/jax';
import type { Float32Tensor } from '../formats/safetensors';
import type { LoraSettings } from '../layout/loraSettings';
import type { TextConfig } from '../layout/textConfig';
import type { Projection, TextLayout } from '../layout/textLayout';
import { loraKey, PROJECTIONS, projectionOf, projectionShape } from '../layout/textLayout';
import type { LayerLora, LoraParams } from './decoder';

export function loraScale(lora: LoraSettings): number {
  return lora.lora_alpha / lora.r;
}

/** The projections the settings target; an unknown module is an error. */
function targetedProjections(lora: LoraSettings): Projection[] {
  return lora.target_modules.map(projectionOf);
}

/** PEFT initialisation from a seed: A ~ U(-1/√in, 1/√in), B = 0. */
export function initLora(
  config: TextConfig,
  lora: LoraSettings,
  seed: number,
  opts: { device?: Device; dtype?: np.DType } = {},
): LoraParams {
  const projections = targetedProjections(lora);
  const dtype = opts.dtype ?? np.float32;
  // The keys are split on jax-js' host device ('cpu') and each uploaded where A is drawn: the same
  // bits as splitting there, but slicing them apart there compiles one kernel per slice offset
  // (210 WebGPU pipelines at SmolVLM-256M's 30 layers, docs/decisions/0049-fewer-webgpu-pipelines.md).
  const n = config.numLayers * projections.length;
  const bits = random
    .split(random.key(np.array(seed, { dtype: np.uint32, device: 'cpu' })), n)
    .dataSync();
  const perTensor = Array.from({ length: n }, (_, i) =>
    np.array(bits.slice(2 * i, 2 * i + 2), { dtype: np.uint32, device: opts.device }),
  );
  const layers: LayerLora[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const layer: LayerLora = {};
    for (const p of projections) {
      const [out, inp] = projectionShape(config, p);
      const bound = 1 / Math.sqrt(inp);
      const key = perTensor.shift() as np.Array;
      const a = random.uniform(key, [lora.r, inp], { minval: -bound, maxval: bound });
      layer[p] = {
        a: dtype === np.float32 ? a : a.astype(dtype),
        b: np.zeros([out, lora.r], { dtype, device: opts.device }),
      };
    }
    layers.push(layer);
  }
  return { layers };
}

/** The adapter's tensors under PEFT's keys for this checkpoint (A r × in, B out × r), on the host. */
export async function exportLoraTensors(
  model: TextLayout,
  params: LoraParams,
): Promise<Float32Tensor[]> {
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
          name: loraKey(model.textPrefix, layer, p, which),
          dtype: 'F32',
          shape: array.shape,
          data: Float32Array.from(await array.ref.data()),
        });
      }
    }
  }
  return out;
}

/** An adapter's parameters from tensors under PEFT's keys for this checkpoint. */
export function importLoraTensors(
  model: TextLayout,
  lora: LoraSettings,
  tensors: ReadonlyMap<string, Float32Array>,
  opts: { device?: Device } = {},
): LoraParams {
  const layers: LayerLora[] = [];
  for (let l = 0; l < model.config.numLayers; l++) {
    const layer: LayerLora = {};
    for (const p of targetedProjections(lora)) {
      const [out, inp] = projectionShape(model.config, p);
      const load = (which: 'A' | 'B', shape: [number, number]) => {
        const name = loraKey(model.textPrefix, l, p, which);
        const data = tensors.get(name);
        if (!data || data.length !== shape[0] * shape[1]) {
          throw new Error(`adapter tensor ${name}: expected [${shape.join(', ')}]`);
        }
        return np.array(data, { device: opts.device }).reshape(shape);
      };
      layer[p] = { a: load('A', [lora.r, inp]), b: load('B', [out, lora.r]) };
    }
    layers.push(layer);
  }
  return { layers };
}
