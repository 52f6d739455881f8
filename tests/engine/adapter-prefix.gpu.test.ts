// An adapter exports under the text prefix its checkpoint really uses. A tiny VLM-style checkpoint
// whose language model sits under `model.language_model.` (as newer VLMs have it), loaded over
// HTTP Range requests like any model: the exported adapter's keys and target_modules name
// `model.language_model.` modules, its target_modules picks exactly the targeted modules of the
// checkpoint (never the vision tower's own q_proj), and the file imports back onto the model.
import { defaultDevice, init, tree } from '@jax-js/jax';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exportAdapterZip, readAdapterZip } from '../../src/core/adapterFiles';
import { exportLoraTensors, importLoraTensors, initLora } from '../../src/engine/lora';
import { disposeModel, type TextModel } from '../../src/engine/model';
import { unpackAdapterZip } from '../../src/formats/peftAdapter';
import { parseSafetensors, serializeSafetensors } from '../../src/formats/safetensors';
import type { LoraSettings } from '../../src/layout/loraSettings';
import { checkpointNames, PROJECTIONS, projectionShape } from '../../src/layout/textLayout';
import { loadTextModelFromUrl } from '../../src/vlm/textModelFromUrl';
import { type RangeServer, serveBytes } from '../../tools/lib/serve-files';
import { tinyConfig } from './helpers';

const PREFIX = 'model.language_model.';
const config = tinyConfig({ imageTokenId: null });
const hubConfig = {
  model_type: 'idefics3',
  text_config: {
    model_type: 'llama',
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: config.headDim,
    rms_norm_eps: config.rmsNormEps,
    tie_word_embeddings: config.tieWordEmbeddings,
  },
};
/** A vision-tower module with the same name as a text projection: PEFT must not target it. */
const VISION_Q = 'model.vision_model.encoder.layers.0.self_attn.q_proj';

/** The checkpoint's file: every text tensor under PREFIX, plus one vision tensor. */
function checkpoint(): Uint8Array {
  const names = checkpointNames({ config, textPrefix: PREFIX });
  const d = config.hiddenSize;
  const shapes = new Map<string, number[]>([
    [names.embed, [config.vocabSize, d]],
    [names.norm, [d]],
    [`${VISION_Q}.weight`, [4, 4]],
  ]);
  if (names.lmHead) shapes.set(names.lmHead, [config.vocabSize, d]);
  for (const layer of names.layers) {
    shapes.set(layer.inputNorm as string, [d]);
    shapes.set(layer.postNorm as string, [d]);
    for (const p of PROJECTIONS) shapes.set(layer[p] as string, projectionShape(config, p));
  }
  const tensors = [...shapes].map(([name, shape], t) => ({
    name,
    dtype: 'F32' as const,
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) =>
      Math.sin(t * 7 + i),
    ),
  }));
  return serializeSafetensors(tensors);
}

let server: RangeServer;
let model: TextModel;
const file = checkpoint();

beforeAll(async () => {
  await init('wasm');
  defaultDevice('wasm');
  server = await serveBytes({
    '/m/config.json': new TextEncoder().encode(JSON.stringify(hubConfig)),
    '/m/model.safetensors': file,
  });
  model = await loadTextModelFromUrl(`${server.url}/m`);
});
afterAll(async () => {
  disposeModel(model);
  await server.close();
});

it('exports keys and target_modules under model.language_model., and imports them back', async () => {
  expect(model.textPrefix).toBe(PREFIX);
  const lora: LoraSettings = {
    r: 2,
    lora_alpha: 4,
    target_modules: ['q_proj', 'down_proj'],
    lora_dropout: 0,
  };
  const params = initLora(model.config, lora, 3);
  const tensors = await exportLoraTensors(model, params);
  const zip = exportAdapterZip('me/tiny-vlm', model, lora, tensors, 'f32');

  const unpacked = unpackAdapterZip(zip);
  const keys = parseSafetensors(unpacked.safetensorsBytes)
    .tensors.map((t) => t.name)
    .sort();
  expect(keys).toEqual(
    [0, 1]
      .flatMap((l) => [`self_attn.q_proj`, `mlp.down_proj`].map((m) => `layers.${l}.${m}`))
      .flatMap((m) => ['A', 'B'].map((x) => `base_model.model.${PREFIX}${m}.lora_${x}.weight`))
      .sort(),
  );
  // PEFT full-matches target_modules against the base model's module names: exactly the
  // targeted projections of the checkpoint's text model, none of the vision tower.
  const pattern = new RegExp(`^(?:${String(unpacked.config.target_modules)})$`);
  const modules = parseSafetensors(file)
    .tensors.map((t) => t.name.replace(/\.weight$/, ''))
    .filter((name) => pattern.test(name))
    .sort();
  expect(modules).toEqual([
    `${PREFIX}layers.0.mlp.down_proj`,
    `${PREFIX}layers.0.self_attn.q_proj`,
    `${PREFIX}layers.1.mlp.down_proj`,
    `${PREFIX}layers.1.self_attn.q_proj`,
  ]);
  expect(pattern.test(VISION_Q)).toBe(false);

  const read = readAdapterZip(zip, model);
  expect(read.lora).toEqual(lora);
  const back = importLoraTensors(model, read.lora, read.tensors);
  expect(await exportLoraTensors(model, back)).toEqual(tensors);
  tree.dispose([params, back]);
});
