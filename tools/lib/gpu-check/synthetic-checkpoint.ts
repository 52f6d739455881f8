// A SmolVLM-256M-shaped text checkpoint written on the machine that runs tools/gpu-check.sh, which
// cannot carry the 513 MB of tools/real-size/build.py's (nor run PyTorch): the 256M config and
// reference prompt (./smolvlm-256m.json, from that build), text weights and image features drawn
// from a seed here (uniform, std 0.02 like the build's N(0, 0.02); norms 1 ± 0.1), written as
// float32 safetensors under the Hub's names, and a reference of the prompt's logits computed by
// the engine on Wasm. bench:scale then reads it as it reads a build (`--dir-256m`), and its
// logits_max_abs_error says how far WebGPU is from Wasm at real size (not from PyTorch).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultDevice, numpy as np } from '@jax-js/jax';
import { disposeModel, embedPrompt, loadTextModel } from '../../../src/engine';
import { type Float32Tensor, serializeSafetensors } from '../../../src/formats/safetensors';
import { parseTextConfig } from '../../../src/layout/textConfig';
import { checkpointNames, PROJECTIONS, projectionShape } from '../../../src/layout/textLayout';
import { seededRandom } from '../../../src/random';
import { fileReader } from '../real-size-check';
import { prefillLogitsAt } from '../scale/measure';
import shape from './smolvlm-256m.json';

const STD = 0.02;

function draw(random: () => number, n: number, std: number, offset = 0): Float32Array {
  const half = std * Math.sqrt(3);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = offset + (2 * random() - 1) * half;
  return out;
}

/** Writes the checkpoint into `dir` (config.json, model.safetensors, ttrv/); Wasm must be init'ed. */
export async function writeSyntheticCheckpoint(
  dir: string,
  seed: number,
  log: (s: string) => void,
): Promise<void> {
  const config = parseTextConfig(shape.config);
  const random = seededRandom(seed);
  const names = checkpointNames({ config, textPrefix: 'model.text_model.' });
  const d = config.hiddenSize;
  const f32 = (name: string, shape: number[], std: number, offset = 0): Float32Tensor => ({
    name,
    dtype: 'F32',
    shape,
    data: draw(
      random,
      shape.reduce((x, y) => x * y, 1),
      std,
      offset,
    ),
  });
  const tensors = [f32(names.embed, [config.vocabSize, d], STD), f32(names.norm, [d], 0.1, 1)];
  if (names.lmHead) tensors.push(f32(names.lmHead, [config.vocabSize, d], STD));
  for (const layer of names.layers) {
    for (const norm of ['inputNorm', 'postNorm'])
      tensors.push(f32(layer[norm] as string, [d], 0.1, 1));
    for (const p of PROJECTIONS)
      tensors.push(f32(layer[p] as string, projectionShape(config, p), STD));
  }
  mkdirSync(path.join(dir, 'ttrv'), { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(shape.config, null, 2));
  writeFileSync(path.join(dir, 'model.safetensors'), serializeSafetensors(tensors));
  tensors.length = 0;
  writeFileSync(
    path.join(dir, 'ttrv/build.json'),
    JSON.stringify({ repo: shape.repo, params_text: shape.params_text, seed, synthetic: true }),
  );
  log(`  weights written; the reference logits on Wasm`);
  const features = draw(random, shape.image_seq_len * d, STD);
  const previous = defaultDevice();
  defaultDevice('wasm');
  try {
    const model = await loadTextModel(
      shape.config,
      fileReader(path.join(dir, 'model.safetensors')),
    );
    const prompt = embedPrompt(
      model.weights.embed,
      shape.input_ids,
      model.config.imageTokenId,
      np.array(features).reshape([shape.image_seq_len, d]),
    );
    const logits = await prefillLogitsAt(model, prompt, shape.logit_positions);
    prompt.dispose();
    disposeModel(model);
    writeFileSync(
      path.join(dir, 'ttrv/reference.json'),
      JSON.stringify({
        input_ids: shape.input_ids,
        logit_positions: shape.logit_positions,
        seed,
        note: 'synthetic (tools/lib/gpu-check/synthetic-checkpoint.ts): logits from the engine on Wasm',
      }),
    );
    writeFileSync(
      path.join(dir, 'ttrv/reference.safetensors'),
      serializeSafetensors([
        { name: 'image_features', dtype: 'F32', shape: [shape.image_seq_len, d], data: features },
        {
          name: 'logits',
          dtype: 'F32',
          shape: [shape.logit_positions.length, config.vocabSize],
          data: logits,
        },
      ]),
    );
  } finally {
    defaultDevice(previous);
  }
}
