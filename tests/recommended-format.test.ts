// The model picker's default text-weight format: the most precise one that fits the device.
import { describe, expect, it } from 'vitest';
import { type ModelEstimate, recommendedWeightFormat } from '../src/models';

const MB = 2 ** 20;
const EMBED = 49_280 * 960;
/** SmolVLM-500M's text model (409 M parameters; its largest tensor is the embedding, 49,280 × 960),
 * device bytes rounded. */
const smolvlm500m: ModelEstimate = {
  label: 'HuggingFaceTB/SmolVLM-500M-Instruct',
  kind: 'hub',
  textFileBytes: 819 * MB,
  textDeviceBytes: { f32: 1561 * MB, q8: 398 * MB, q4: 333 * MB },
  largestTensorBytes: { f32: 4 * EMBED, q8: EMBED + 4 * 49_280, q4: EMBED + 4 * 49_280 },
  vision: { dtype: 'fp16', fileBytes: 187 * MB },
  notes: [],
};

describe('recommendedWeightFormat', () => {
  it('keeps f32 where every tensor fits one buffer binding', () => {
    const gpu = { maxStorageBufferBindingSize: 2 ** 31 - 1, maxBufferSize: 2 ** 32 };
    expect(recommendedWeightFormat(smolvlm500m, gpu)).toBe('f32');
  });

  it('steps down to q8 where the f32 embedding exceeds the binding limit (WebGPU’s default 128 MiB)', () => {
    const gpu = { maxStorageBufferBindingSize: 128 * MB, maxBufferSize: 256 * MB };
    expect(recommendedWeightFormat(smolvlm500m, gpu)).toBe('q8');
  });

  it('on the CPU (Wasm) keeps the weights within half of the 4 GiB heap', () => {
    expect(recommendedWeightFormat(smolvlm500m, null)).toBe('f32');
    const twoB = {
      ...smolvlm500m,
      textDeviceBytes: { f32: 6000 * MB, q8: 1600 * MB, q4: 1000 * MB },
    };
    expect(recommendedWeightFormat(twoB, null)).toBe('q8');
  });

  it('says none when nothing fits', () => {
    const gpu = { maxStorageBufferBindingSize: 16 * MB, maxBufferSize: 16 * MB };
    expect(recommendedWeightFormat(smolvlm500m, gpu)).toBeNull();
  });
});
