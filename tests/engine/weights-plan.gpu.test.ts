// planTextModel reads only the safetensors header and says what loading would take: the text
// tensors' bytes in the file and, per weight format, the bytes on the device. It must equal what
// loadTextModel then really holds (the model picker shows it before a model loads).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tree } from '@jax-js/jax';
import { describe, expect, it } from 'vitest';
import { disposeModel } from '../../src/engine/model';
import { WEIGHT_FORMATS, weightBytes } from '../../src/engine/quant';
import { loadTextModel, planTextModel } from '../../src/engine/weights';
import { parseSafetensors } from '../../src/formats/safetensors';

const MODEL_DIR = fileURLToPath(new URL('../../public/models/ttrv-demo-shapes', import.meta.url));
const hubConfig = JSON.parse(readFileSync(path.join(MODEL_DIR, 'config.json'), 'utf8'));
const file = new Uint8Array(readFileSync(path.join(MODEL_DIR, 'model.safetensors')));

describe('planTextModel', () => {
  it('reads only the header, and its bytes per format equal the loaded model’s', async () => {
    const asked: [number, number][] = [];
    const plan = await planTextModel(hubConfig, async (s, e) => {
      asked.push([s, e]);
      return file.subarray(s, e);
    });
    const headerEnd = 8 + Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
    expect(Math.max(...asked.map(([, e]) => e))).toBe(headerEnd);

    const textTensors = parseSafetensors(file).tensors.filter(
      (t) => t.name.includes('text_model') || t.name === 'lm_head.weight',
    );
    expect(plan.fileBytes).toBe(textTensors.reduce((n, t) => n + t.data.length, 0));
    for (const format of WEIGHT_FORMATS) {
      const model = await loadTextModel(hubConfig, async (s, e) => file.subarray(s, e), { format });
      expect(plan.deviceBytes[format]).toBe(weightBytes(model.weights));
      const largest = Math.max(
        ...tree.leaves(model.weights).map((a) => (a as { size: number }).size * 4),
      );
      // A quantised tensor is several arrays (codes, scales): the plan counts the tensor whole.
      expect(plan.largestTensorBytes[format]).toBeGreaterThanOrEqual(largest);
      disposeModel(model);
    }
    expect(plan.deviceBytes.q4).toBeLessThan(plan.deviceBytes.q8);
    expect(plan.deviceBytes.q8).toBeLessThan(plan.deviceBytes.f32 / 3);
  });
});
