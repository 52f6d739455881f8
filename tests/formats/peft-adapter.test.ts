// The adapter file on its own: config, zip, validation and decoding. The names and shapes it is
// checked against come from the engine's layout (tests/layout/text-layout.test.ts tests those).
import { strToU8, unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  AdapterError,
  adapterConfig,
  type ImportedAdapter,
  importAdapter,
  type PeftLoraConfig,
  packAdapterZip,
  unpackAdapterZip,
  validateAdapter,
} from '../../src/formats/peftAdapter';
import { type Float32Tensor, parseSafetensors } from '../../src/formats/safetensors';
import {
  LORA_TARGET_MODULES,
  type LoraTargetModule,
  locateLoraKey,
  loraKey,
  loraShapes,
  projectionOf,
  type TextLayout,
  targetModulesPattern,
} from '../../src/layout/textLayout';
import { SMOLVLM_256M_DIMS, SMOLVLM_500M_DIMS, TINY_DIMS, textLayout } from '../layout/fixtures';

const PREFIX = 'model.text_model.';

const TINY = textLayout(TINY_DIMS);
const R = 3;
const ALL = LORA_TARGET_MODULES;
// One layer of SmolVLM-256M's text model (hidden 576) and of SmolVLM-500M's (hidden 960).
const SMOLVLM_256M_LAYER = textLayout({ ...SMOLVLM_256M_DIMS, num_hidden_layers: 1 });
const SMOLVLM_500M_LAYER = textLayout({ ...SMOLVLM_500M_DIMS, num_hidden_layers: 1 });

/** The PEFT key of a module's A or B in the SmolVLM-style models above. */
function keyOf(layer: number, module: LoraTargetModule, matrix: 'A' | 'B'): string {
  return loraKey(PREFIX, layer, projectionOf(module), matrix);
}

/** Every LoRA tensor name → shape of `layout` for rank r and these modules. */
function shapesOf(layout: TextLayout, r: number, targets: readonly LoraTargetModule[] = ALL) {
  return loraShapes(layout, r, targets);
}

/** Unzip and import against the model's shapes for rank r. */
function importZip(
  zip: Uint8Array,
  shapes: ReadonlyMap<string, readonly number[]>,
  r: number,
): ImportedAdapter {
  return importAdapter(unpackAdapterZip(zip), { r, shapes, locate: locateLoraKey });
}

function settings(r: number, targets: readonly LoraTargetModule[] = ALL) {
  return {
    base_model_name_or_path: 'HuggingFaceTB/SmolVLM-256M-Instruct',
    r,
    lora_alpha: 2 * r,
    lora_dropout: 0,
    target_modules: targetModulesPattern(PREFIX, targets),
  };
}

/** One tensor per expected shape, each value distinct (tensor index × 1000 + element index). */
function tensorsFor(shapes: ReadonlyMap<string, readonly number[]>): Float32Tensor[] {
  return [...shapes].map(([name, shape], t) => {
    const size = shape.reduce((a, b) => a * b, 1);
    return {
      name,
      dtype: 'F32',
      shape: [...shape],
      data: Float32Array.from({ length: size }, (_, i) => t * 1000 + i),
    };
  });
}

/** A zip PEFT could have written for this model. */
function adapterZip(
  layout: TextLayout,
  r: number,
  targets: readonly LoraTargetModule[] = ALL,
): Uint8Array {
  const config = adapterConfig(settings(r, targets));
  return packAdapterZip({ config, tensors: tensorsFor(shapesOf(layout, r, targets)) });
}

/** A member of an unzipped archive, which must be there. */
function member(files: Record<string, Uint8Array>, name: string): Uint8Array {
  const file = files[name];
  if (file === undefined) throw new Error(`test setup: no ${name} in the zip`);
  return file;
}

/** The AdapterError fn throws; fails the test on no error or another kind. */
function adapterError(fn: () => unknown): AdapterError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AdapterError);
    return error as AdapterError;
  }
  throw new Error('expected an AdapterError, nothing was thrown');
}

describe('adapterConfig', () => {
  const config = adapterConfig({
    base_model_name_or_path: 'HuggingFaceTB/SmolVLM-256M-Instruct',
    r: 16,
    lora_alpha: 32,
    lora_dropout: 0.05,
    target_modules: targetModulesPattern(PREFIX, ['q_proj', 'v_proj', 'down_proj']),
  });

  it('writes the LoRA fields PEFT reads, target_modules as given', () => {
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      base_model_name_or_path: 'HuggingFaceTB/SmolVLM-256M-Instruct',
      r: 16,
      lora_alpha: 32,
      lora_dropout: 0.05,
      bias: 'none',
      use_dora: false,
      use_rslora: false,
      fan_in_fan_out: false,
      inference_mode: true,
      rank_pattern: {},
      alpha_pattern: {},
      target_modules: targetModulesPattern(PREFIX, ['q_proj', 'v_proj', 'down_proj']),
    });
  });

  it('sorts its keys, as PEFT json.dumps(sort_keys=True) does', () => {
    const keys = Object.keys(config);
    expect(keys).toEqual([...keys].sort());
    expect(keys).toHaveLength(20);
  });
});

describe('packAdapterZip / unpackAdapterZip', () => {
  it('round-trips config and tensors through a zip PEFT can read', () => {
    const config: PeftLoraConfig = adapterConfig(settings(R));
    const tensors = tensorsFor(shapesOf(TINY, R, ALL));
    const zip = packAdapterZip({ config, tensors });

    // Both files at the top level, config as indented JSON with a final newline.
    const members = unzipSync(zip);
    expect(Object.keys(members).sort()).toEqual([ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE]);
    expect(new TextDecoder().decode(members[ADAPTER_CONFIG_FILE])).toBe(
      `${JSON.stringify(config, null, 2)}\n`,
    );

    const unpacked = unpackAdapterZip(zip);
    expect(unpacked.config).toEqual(config);
    const file = parseSafetensors(unpacked.safetensorsBytes);
    expect(file.metadata).toEqual({ format: 'pt' });
    const byName = new Map(file.tensors.map((t) => [t.name, t]));
    expect(byName.size).toBe(tensors.length);
    for (const tensor of tensors) {
      const read = byName.get(tensor.name);
      expect(read?.dtype).toBe('F32');
      expect(read?.shape).toEqual(tensor.shape);
      expect(new Float32Array(read?.data.slice().buffer ?? new ArrayBuffer(0))).toEqual(
        tensor.data,
      );
    }
  });

  it('finds the files inside a zipped adapter folder', () => {
    const inner = unzipSync(adapterZip(TINY, R));
    const zip = zipSync({ 'my-adapter': inner, 'README.md': strToU8('hi') });
    expect(unpackAdapterZip(zip).config.r).toBe(R);
  });

  it('rejects a file that is not a zip', () => {
    const error = adapterError(() => unpackAdapterZip(strToU8('{"r": 8}')));
    expect(error.message).toBe(
      'not a zip file: expected a .zip holding adapter_config.json and adapter_model.safetensors',
    );
    expect(adapterError(() => unpackAdapterZip(new Uint8Array([0x50, 0x4b]))).message).toMatch(
      /^not a zip file/,
    );
  });

  it('rejects a damaged zip', () => {
    // A local-file-header signature and nothing a zip needs after it.
    const bytes = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(adapterError(() => unpackAdapterZip(bytes)).message).toMatch(
      /^the zip file is damaged: /,
    );
  });

  it('rejects a zip missing a member, listing what it does hold', () => {
    const members = unzipSync(adapterZip(TINY, R));
    const onlyConfig = zipSync({ [ADAPTER_CONFIG_FILE]: member(members, ADAPTER_CONFIG_FILE) });
    expect(adapterError(() => unpackAdapterZip(onlyConfig)).message).toBe(
      'the zip has no adapter_model.safetensors (it holds: adapter_config.json)',
    );
    const onlyWeights = zipSync({
      [ADAPTER_WEIGHTS_FILE]: member(members, ADAPTER_WEIGHTS_FILE),
      'notes.txt': strToU8('x'),
    });
    expect(adapterError(() => unpackAdapterZip(onlyWeights)).message).toBe(
      'the zip has no adapter_config.json (it holds: adapter_model.safetensors, notes.txt)',
    );
    // An empty archive starts "PK\5\6".
    expect(adapterError(() => unpackAdapterZip(zipSync({}))).message).toBe(
      'the zip has no adapter_config.json (it holds: nothing)',
    );
  });

  it('rejects a zip holding two adapters', () => {
    const inner = unzipSync(adapterZip(TINY, R));
    const zip = zipSync({ a: inner, b: inner });
    expect(adapterError(() => unpackAdapterZip(zip)).message).toBe(
      'the zip holds several adapter_config.json: a/adapter_config.json, b/adapter_config.json',
    );
  });

  it('rejects an adapter_config.json that is not a JSON object', () => {
    const weights = member(unzipSync(adapterZip(TINY, R)), ADAPTER_WEIGHTS_FILE);
    const notJson = zipSync({
      [ADAPTER_CONFIG_FILE]: strToU8('{r: 8}'),
      [ADAPTER_WEIGHTS_FILE]: weights,
    });
    expect(adapterError(() => unpackAdapterZip(notJson)).message).toMatch(
      /^adapter_config\.json is not valid JSON: /,
    );
    const list = zipSync({ [ADAPTER_CONFIG_FILE]: strToU8('[]'), [ADAPTER_WEIGHTS_FILE]: weights });
    expect(adapterError(() => unpackAdapterZip(list)).message).toBe(
      'adapter_config.json must hold a JSON object',
    );
  });
});

describe('importAdapter', () => {
  const expected = shapesOf(TINY, R, ALL);

  it('imports an adapter that fits, with every value', () => {
    const tensors = tensorsFor(expected);
    const zip = packAdapterZip({ config: adapterConfig(settings(R)), tensors });
    const imported = importZip(zip, expected, R);
    expect(imported.config.r).toBe(R);
    expect([...imported.tensors.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const tensor of tensors) expect(imported.tensors.get(tensor.name)).toEqual(tensor.data);
  });

  it('decodes F16 adapter weights', () => {
    // One layer, q_proj only, hidden 2 = 1 head × 2, r = 1: A is [1, 2], B is [2, 1].
    const dims = { ...TINY_DIMS, num_hidden_layers: 1, hidden_size: 2, num_attention_heads: 1 };
    const small = shapesOf(textLayout({ ...dims, head_dim: 2 }), 1, ['q_proj']);
    const a = keyOf(0, 'q_proj', 'A');
    const b = keyOf(0, 'q_proj', 'B');
    // Each tensor is 2 F16 values = 4 bytes: A at 0–4, B at 4–8.
    const header = new TextEncoder().encode(
      JSON.stringify({
        [a]: { dtype: 'F16', shape: [1, 2], data_offsets: [0, 4] },
        [b]: { dtype: 'F16', shape: [2, 1], data_offsets: [4, 8] },
      }),
    );
    const st = new Uint8Array(8 + header.length + 8);
    new DataView(st.buffer).setBigUint64(0, BigInt(header.length), true);
    st.set(header, 8);
    // 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800, 65504 = 0x7BFF, little-endian.
    st.set([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0xff, 0x7b], 8 + header.length);
    const zip = zipSync({
      [ADAPTER_CONFIG_FILE]: strToU8(JSON.stringify(adapterConfig(settings(1, ['q_proj'])))),
      [ADAPTER_WEIGHTS_FILE]: st,
    });
    const imported = importZip(zip, small, 1);
    expect(imported.tensors.get(a)).toEqual(new Float32Array([1, -2]));
    expect(imported.tensors.get(b)).toEqual(new Float32Array([0.5, 65504]));
  });

  it('rejects an adapter for another hidden size, and says only that', () => {
    // The same layout (1 layer, q_proj, r = 2) but SmolVLM-256M's 576 against the 500M's 960.
    const zip = adapterZip(SMOLVLM_256M_LAYER, 2, ['q_proj']);
    const shapes = shapesOf(SMOLVLM_500M_LAYER, 2, ['q_proj']);
    const error = adapterError(() => importZip(zip, shapes, 2));
    expect(error.issues).toEqual([
      'adapter is for a model with hidden size 576, this model has 960',
    ]);
    expect(error.message).toBe(error.issues.join('\n'));
  });

  it('rejects another layer count', () => {
    const zip = adapterZip(textLayout({ ...TINY_DIMS, num_hidden_layers: 1 }), R);
    expect(adapterError(() => importZip(zip, expected, R)).issues).toEqual([
      'adapter is for a model with 1 layers, this model has 2',
    ]);
  });

  it('rejects a wrong rank', () => {
    // Shapes and config both say r = 2; the model's LoRA has r = 3.
    const zip = adapterZip(TINY, 2);
    expect(adapterError(() => importZip(zip, shapesOf(TINY, 3, ALL), 3)).issues).toEqual([
      "adapter has rank r = 2, this model's LoRA uses r = 3",
    ]);
  });

  it('rejects missing tensors, counting and naming them', () => {
    // The adapter has q and v: 2 layers × 2 modules × 2 = 8 of the model's 28, 20 missing.
    const zip = adapterZip(TINY, R, ['q_proj', 'v_proj']);
    const error = adapterError(() => importZip(zip, expected, R));
    expect(error.issues).toEqual([
      'adapter lacks 20 tensor(s) this model needs: ' +
        `${keyOf(0, 'k_proj', 'A')}, ${keyOf(0, 'k_proj', 'B')}, ` +
        `${keyOf(0, 'o_proj', 'A')}, … (17 more)`,
    ]);
  });

  it('rejects extra tensors the model has no place for', () => {
    // Model: q only (4 tensors); adapter: all 7 modules (28), 24 extra.
    const zip = adapterZip(TINY, R);
    const qOnly = shapesOf(TINY, R, ['q_proj']);
    const error = adapterError(() => importZip(zip, qOnly, R));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatch(/^adapter has 24 tensor\(s\) this model has no place for: /);
    expect(error.issues[0]).toMatch(/\(21 more\)$/);
  });

  it('rejects a tensor of the wrong shape, giving both shapes', () => {
    const tensors = tensorsFor(expected);
    const name = keyOf(1, 'k_proj', 'B');
    const k = tensors.find((t) => t.name === name);
    if (k === undefined) throw new Error('no k_proj B');
    // [5, 3] → [6, 3]: a width the GQA model does not have.
    k.shape = [6, 3];
    k.data = new Float32Array(18);
    const zip = packAdapterZip({ config: adapterConfig(settings(R)), tensors });
    expect(adapterError(() => importZip(zip, expected, R)).issues).toEqual([
      `1 tensor(s) have the wrong shape: ${name} is [6, 3], expected [5, 3]`,
    ]);
  });

  it('passes on a damaged safetensors file as an AdapterError naming the file', () => {
    const members = unzipSync(adapterZip(TINY, R));
    const weights = member(members, ADAPTER_WEIGHTS_FILE);
    const zip = zipSync({
      [ADAPTER_CONFIG_FILE]: member(members, ADAPTER_CONFIG_FILE),
      [ADAPTER_WEIGHTS_FILE]: weights.subarray(0, weights.length - 1),
    });
    // Per layer: q 3×8 + 10×3 = 54, k 24 + 15 = 39, v 39, o 30 + 24 = 54, gate 24 + 36 = 60,
    // up 60, down 36 + 24 = 60 → 366 values; 2 layers → 732 F32 = 2928 bytes, one cut off.
    expect(adapterError(() => importZip(zip, expected, R)).issues).toEqual([
      'adapter_model.safetensors: data section is 2927 bytes but the tensors cover 2928: ' +
        'the file is truncated',
    ]);
  });

  it('lists every config setting our LoRA cannot reproduce, together', () => {
    const config = {
      ...adapterConfig(settings(R)),
      peft_type: 'IA3',
      lora_alpha: 0,
      use_dora: true,
      bias: 'all',
      rank_pattern: { q_proj: 4 },
    };
    const zip = packAdapterZip({
      config: config as unknown as PeftLoraConfig,
      tensors: tensorsFor(expected),
    });
    const error = adapterError(() => importZip(zip, expected, R));
    expect(error.issues).toEqual([
      'adapter is of PEFT type IA3; only LORA adapters load here',
      'adapter_config.json needs a positive lora_alpha',
      'adapter uses use_dora, which this playground does not support',
      'adapter uses bias other than "none", which this playground does not support',
      'adapter uses rank_pattern, which this playground does not support',
    ]);
  });

  it('rejects an adapter with no tensors', () => {
    const zip = packAdapterZip({ config: adapterConfig(settings(R)), tensors: [] });
    expect(adapterError(() => importZip(zip, expected, R)).issues).toEqual([
      'adapter holds no tensors',
    ]);
  });
});

describe('validateAdapter', () => {
  it('rejects tensors it cannot decode to float32', () => {
    const expected = shapesOf(TINY, R, ['q_proj']);
    const tensors = [...expected].map(([name, shape]) => ({ name, dtype: 'F32', shape }));
    const first = tensors[0];
    if (first === undefined) throw new Error('no tensors');
    first.dtype = 'I8';
    const expectation = { r: R, shapes: expected, locate: locateLoraKey };
    expect(validateAdapter({ ...adapterConfig(settings(R)) }, tensors, expectation)).toEqual([
      `tensors must be F32, F16 or BF16: ${first.name} is I8`,
    ]);
  });

  it('accepts a fitting adapter with no issues', () => {
    const expected = shapesOf(TINY, R, ALL);
    const tensors = [...expected].map(([name, shape]) => ({ name, dtype: 'BF16', shape }));
    const expectation = { r: R, shapes: expected, locate: locateLoraKey };
    expect(validateAdapter({ ...adapterConfig(settings(R)) }, tensors, expectation)).toEqual([]);
  });
});
