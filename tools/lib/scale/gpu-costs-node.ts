// bench:scale's `--gpu-costs` in Node: every model counted in a child process of its own
// (`bench-scale.ts --gpu-costs-of SHAPE`), because jax-js keeps the pipelines it compiled for the
// life of the process and a second model would find some of them compiled. `demo` is the shipped
// demo model on the app's real prompt (processor and ONNX vision encoder through transformers.js,
// as bench:engine builds it); a real-size shape is its checkpoint's reference prompt.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultDevice, init, numpy as np } from '@jax-js/jax';
import type { TextModel } from '../../../src/engine';
import { embedPrompt, loadTextModel } from '../../../src/engine';
import { setupNode } from '../node-gpu';
import { fileReader, readReference } from '../real-size-check';
import { REPO_ROOT } from '../repo-root';
import { DEMO_MODEL, loadTransformersDemo } from '../transformers-demo';
import { countGpuCosts, type GpuCosts } from './gpu-costs';
import type { ScaleOptions } from './measure';

/** The shapes counted when `--gpu-costs` names none: the demo model, then the measured shapes. */
export const gpuCostShapes = (value: string | undefined, shapes: string[]) =>
  value ? value.split(',') : ['demo', ...shapes];

const DEMO_DIR = path.join(REPO_ROOT, 'public/models', DEMO_MODEL);

async function demoPrompt(model: TextModel): Promise<np.Array> {
  const demo = await loadTransformersDemo(REPO_ROOT);
  try {
    const itemsFile = path.join(REPO_ROOT, 'public/datasets/shapes/clean/items.jsonl');
    const item = JSON.parse(readFileSync(itemsFile, 'utf8').split('\n')[0] as string);
    const inputs = await demo.prompt(path.join(path.dirname(itemsFile), item.image), item.question);
    const features = await demo.imageFeatures(inputs);
    return embedPrompt(
      model.weights.embed,
      inputs.inputIds,
      model.config.imageTokenId,
      np.array(features.data).reshape(features.shape),
    );
  } finally {
    await demo.dispose();
  }
}

function referencePrompt(dir: string) {
  const ref = readReference(dir);
  const feats = ref.tensors.get('image_features');
  if (!feats) throw new Error(`The reference in ${dir} has no image features.`);
  return async (model: TextModel) =>
    embedPrompt(
      model.weights.embed,
      ref.input_ids,
      model.config.imageTokenId,
      np.array(feats.data).reshape(feats.shape as [number, number]),
    );
}

/** The child's work: one model's costs on WebGPU, in this process. */
export async function gpuCostsOf(
  shape: string,
  dir: string,
  opts: ScaleOptions,
  log: (s: string) => void,
): Promise<GpuCosts & { shape: string }> {
  await setupNode('webgpu');
  if (!(await init('webgpu')).includes('webgpu')) throw new Error('WebGPU is not available');
  defaultDevice('webgpu');
  const modelDir = shape === 'demo' ? DEMO_DIR : dir;
  const hubConfig = JSON.parse(readFileSync(path.join(modelDir, 'config.json'), 'utf8'));
  const weights = fileReader(path.join(modelDir, 'model.safetensors'));
  log(`gpu costs of ${shape} (${opts.weights} weights, WebGPU)`);
  const costs = await countGpuCosts(
    () => loadTextModel(hubConfig, weights, { format: opts.weights }),
    shape === 'demo' ? demoPrompt : referencePrompt(dir),
    opts,
    log,
  );
  return { shape, ...costs };
}

/** Runs this process's own command line again with `--gpu-costs-of SHAPE` for each shape (through
 * tools/bin/run-ts.mjs or the GPU check's bundle alike); their last stdout lines. */
export async function gpuCostsInChildren(
  shapes: string[],
): Promise<(GpuCosts & { shape: string })[]> {
  const out = [];
  for (const shape of shapes) {
    const child = spawn(
      process.execPath,
      [...process.execArgv, ...process.argv.slice(1), '--gpu-costs-of', shape],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const last = stdout.trim().split('\n').pop() ?? '';
    if (code !== 0 || !last.startsWith('{')) {
      throw new Error(
        `Counting the GPU costs of ${shape} failed (exit ${code}); its log is above.`,
      );
    }
    out.push(JSON.parse(last));
  }
  return out;
}
