// `npm run check:real-size -- --shape 256m [--dir DIR] [--weights f32|q8|q4] [--generate]
//   [--no-engine] [--no-transformersjs]`: a SmolVLM-shaped checkpoint written by
// tools/real-size/build.py, checked through the app's own loaders against the PyTorch reference the
// build wrote (tools/lib/real-size-check.ts says what each check compares). Prints one JSON line.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { WeightFormat } from '../../src/engine';
import {
  checkEngine,
  checkGradients,
  checkTransformersJs,
  defaultDir,
} from '../lib/real-size-check';

export async function main(args: string[]): Promise<void> {
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const shape = value('--shape') ?? 'tiny';
  const dir = path.resolve(value('--dir') ?? defaultDir(shape));
  const build = JSON.parse(readFileSync(path.join(dir, 'ttrv/build.json'), 'utf8'));
  const weights = (value('--weights') ?? 'f32') as WeightFormat;
  const engine = args.includes('--no-engine') ? null : await checkEngine(dir, 'wasm', weights);
  const gradients = args.includes('--no-engine') ? null : await checkGradients(dir);
  const transformersjs = args.includes('--no-transformersjs')
    ? null
    : await checkTransformersJs(dir, { generate: args.includes('--generate') });
  console.log(
    JSON.stringify({
      shape: build.shape,
      seed: build.seed,
      dir,
      params_text: build.params_text,
      engine,
      gradients,
      transformersjs,
    }),
  );
}
