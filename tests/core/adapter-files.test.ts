// The adapter file of a loaded model: written under the checkpoint's own text prefix, read back
// with the LoRA settings the file gives, and unzipped once.
import { unzipSync } from 'fflate';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { exportAdapterZip, readAdapterZip } from '../../src/core/adapterFiles';
import {
  AdapterError,
  adapterConfig,
  type PeftLoraConfig,
  packAdapterZip,
  unpackAdapterZip,
} from '../../src/formats/peftAdapter';
import type { Float32Tensor } from '../../src/formats/safetensors';
import type { LoraSettings } from '../../src/layout/loraSettings';
import { loraKey, loraShapes, type TextLayout } from '../../src/layout/textLayout';
import { TINY_DIMS, textLayout } from '../layout/fixtures';

// Counts unzips; everything else of fflate is the real thing.
vi.mock('fflate', async (importOriginal) => {
  const fflate = await importOriginal<typeof import('fflate')>();
  return { ...fflate, unzipSync: vi.fn(fflate.unzipSync) };
});

const LANGUAGE_MODEL = textLayout(TINY_DIMS, 'model.language_model.');
const LORA: LoraSettings = {
  r: 2,
  lora_alpha: 4,
  target_modules: ['q_proj', 'down_proj'],
  lora_dropout: 0.05,
};

/** The adapter's tensors as exportLoraTensors names them, each value distinct. */
function tensorsOf(model: TextLayout, lora: LoraSettings): Float32Tensor[] {
  return [...loraShapes(model, lora.r, lora.target_modules)].map(([name, shape], t) => ({
    name,
    dtype: 'F32',
    shape,
    data: Float32Array.from({ length: shape[0] * shape[1] }, (_, i) => t * 100 + i),
  }));
}

describe('exportAdapterZip / readAdapterZip', () => {
  beforeEach(() => {
    vi.mocked(unzipSync).mockClear();
  });

  it('writes target_modules for the checkpoint text prefix and reads the settings back', () => {
    const tensors = tensorsOf(LANGUAGE_MODEL, LORA);
    const zip = exportAdapterZip('me/my-vlm', LANGUAGE_MODEL, LORA, tensors, 'q4');
    expect(unpackAdapterZip(zip).config).toMatchObject({
      base_model_name_or_path: 'me/my-vlm',
      r: 2,
      lora_alpha: 4,
      lora_dropout: 0.05,
      target_modules:
        'model\\.language_model\\.layers\\.\\d+\\.(self_attn|mlp)\\.(q_proj|down_proj)',
    });
    const read = readAdapterZip(zip, LANGUAGE_MODEL);
    expect(read.lora).toEqual(LORA);
    expect([...read.tensors.keys()].sort()).toEqual(tensors.map((t) => t.name).sort());
    for (const t of tensors) expect(read.tensors.get(t.name)).toEqual(t.data);
    // The model card names the base and the format its text weights had while it trained.
    const card = new TextDecoder().decode(unzipSync(zip)['README.md']);
    expect(card).toContain('base_model: me/my-vlm');
    expect(card).toContain('text weights quantised to q4');
  });

  it('unzips the file once', () => {
    const zip = exportAdapterZip(
      'me/my-vlm',
      LANGUAGE_MODEL,
      LORA,
      tensorsOf(LANGUAGE_MODEL, LORA),
      'f32',
    );
    readAdapterZip(zip, LANGUAGE_MODEL);
    expect(vi.mocked(unzipSync)).toHaveBeenCalledTimes(1);
  });

  it("refuses an adapter made for another checkpoint's text prefix, naming the tensors", () => {
    const smolvlm = textLayout(TINY_DIMS);
    const zip = exportAdapterZip('me/smolvlm', smolvlm, LORA, tensorsOf(smolvlm, LORA), 'f32');
    expect(() => readAdapterZip(zip, LANGUAGE_MODEL)).toThrow(
      `adapter lacks 8 tensor(s) this model needs: ${loraKey('model.language_model.', 0, 'q', 'A')}`,
    );
  });

  it('accepts target_modules as a list, and a file without lora_dropout', () => {
    const tensors = tensorsOf(LANGUAGE_MODEL, LORA);
    const { lora_dropout, ...written } = adapterConfig({
      ...LORA,
      base_model_name_or_path: 'me/my-vlm',
      target_modules: 'unused',
    });
    const config = { ...written, target_modules: ['down_proj', 'q_proj'] };
    const zip = packAdapterZip({ config: config as unknown as PeftLoraConfig, tensors });
    expect(readAdapterZip(zip, LANGUAGE_MODEL).lora).toEqual({ ...LORA, lora_dropout: 0 });
  });

  it('names the fields a config without LoRA settings lacks', () => {
    const bad = exportAdapterZip(
      'me/my-vlm',
      LANGUAGE_MODEL,
      { ...LORA, target_modules: [] },
      tensorsOf(LANGUAGE_MODEL, LORA),
      'f32',
    );
    expect(() => readAdapterZip(bad, LANGUAGE_MODEL)).toThrow(AdapterError);
    expect(() => readAdapterZip(bad, LANGUAGE_MODEL)).toThrow(
      'adapter_config.json must give r, lora_alpha and target_modules (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)',
    );
  });
});
