import { strToU8, unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  AdapterError,
  adapterConfig,
  expectedLoraShapes,
  importAdapterZip,
  loraTensorName,
  type PeftLoraConfig,
  packAdapterZip,
  type TextModelDims,
  unpackAdapterZip,
  validateAdapter,
} from '../../../src/formats/peftAdapter';
import { type Float32Tensor, parseSafetensors } from '../../../src/formats/safetensors';
import { LORA_TARGET_MODULES, type LoraTargetModule } from '../../../src/rl/config';

// Small, with every width different so a swapped in/out or q/kv width shows:
// hidden 8, q width 2 heads × 5 = 10, k/v width 1 head × 5 = 5 (GQA), MLP 12.
const TINY: TextModelDims = {
  num_hidden_layers: 2,
  hidden_size: 8,
  intermediate_size: 12,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  head_dim: 5,
};
const R = 3;
const ALL = LORA_TARGET_MODULES;

// SmolVLM-256M's text model (hidden 576) and SmolVLM-500M's (hidden 960).
const SMOLVLM_256M: TextModelDims = {
  num_hidden_layers: 30,
  hidden_size: 576,
  intermediate_size: 1536,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  head_dim: 64,
};
const SMOLVLM_500M: TextModelDims = {
  num_hidden_layers: 32,
  hidden_size: 960,
  intermediate_size: 2560,
  num_attention_heads: 15,
  num_key_value_heads: 5,
  head_dim: 64,
};

function settings(r: number, targets: readonly LoraTargetModule[] = ALL) {
  return {
    base_model_name_or_path: 'HuggingFaceTB/SmolVLM-256M-Instruct',
    r,
    lora_alpha: 2 * r,
    lora_dropout: 0,
    target_modules: targets,
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

/** A zip PEFT could have written for a model of these dims. */
function adapterZip(
  dims: TextModelDims,
  r: number,
  targets: readonly LoraTargetModule[] = ALL,
): Uint8Array {
  const config = adapterConfig(settings(r, targets));
  return packAdapterZip({ config, tensors: tensorsFor(expectedLoraShapes(dims, r, targets)) });
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

describe('loraTensorName', () => {
  it('lays keys out as PEFT does on SmolVLM: attention under self_attn, the MLP under mlp', () => {
    expect(loraTensorName(0, 'q_proj', 'A')).toBe(
      'base_model.model.model.text_model.layers.0.self_attn.q_proj.lora_A.weight',
    );
    expect(loraTensorName(29, 'o_proj', 'B')).toBe(
      'base_model.model.model.text_model.layers.29.self_attn.o_proj.lora_B.weight',
    );
    for (const module of ['k_proj', 'v_proj'] as const) {
      expect(loraTensorName(3, module, 'A')).toBe(
        `base_model.model.model.text_model.layers.3.self_attn.${module}.lora_A.weight`,
      );
    }
    for (const module of ['gate_proj', 'up_proj', 'down_proj'] as const) {
      expect(loraTensorName(7, module, 'B')).toBe(
        `base_model.model.model.text_model.layers.7.mlp.${module}.lora_B.weight`,
      );
    }
  });
});

describe('expectedLoraShapes', () => {
  it('gives lora_A r × in and lora_B out × r for every module of every layer', () => {
    const shapes = expectedLoraShapes(TINY, R, ALL);
    // 2 layers × 7 modules × (A, B) = 28 tensors.
    expect(shapes.size).toBe(28);
    const layer1 = (module: LoraTargetModule) => [
      shapes.get(loraTensorName(1, module, 'A')),
      shapes.get(loraTensorName(1, module, 'B')),
    ];
    // q: 8 → 2 × 5 = 10; k, v: 8 → 1 × 5 = 5; o: 10 → 8.
    expect(layer1('q_proj')).toEqual([
      [3, 8],
      [10, 3],
    ]);
    expect(layer1('k_proj')).toEqual([
      [3, 8],
      [5, 3],
    ]);
    expect(layer1('v_proj')).toEqual([
      [3, 8],
      [5, 3],
    ]);
    expect(layer1('o_proj')).toEqual([
      [3, 10],
      [8, 3],
    ]);
    // gate, up: 8 → 12; down: 12 → 8.
    expect(layer1('gate_proj')).toEqual([
      [3, 8],
      [12, 3],
    ]);
    expect(layer1('up_proj')).toEqual([
      [3, 8],
      [12, 3],
    ]);
    expect(layer1('down_proj')).toEqual([
      [3, 12],
      [8, 3],
    ]);
    expect(shapes.has(loraTensorName(2, 'q_proj', 'A'))).toBe(false);
  });

  it('uses SmolVLM-256M GQA widths: k/v are 3 heads × 64 = 192 wide, q 9 × 64 = 576', () => {
    const shapes = expectedLoraShapes(SMOLVLM_256M, 8, ALL);
    expect(shapes.size).toBe(30 * 7 * 2);
    expect(shapes.get(loraTensorName(29, 'k_proj', 'B'))).toEqual([192, 8]);
    expect(shapes.get(loraTensorName(29, 'v_proj', 'B'))).toEqual([192, 8]);
    expect(shapes.get(loraTensorName(29, 'q_proj', 'B'))).toEqual([576, 8]);
    expect(shapes.get(loraTensorName(0, 'down_proj', 'A'))).toEqual([8, 1536]);
  });

  it('lists only the targeted modules, in the canonical order whatever the order given', () => {
    const shapes = expectedLoraShapes(TINY, R, ['v_proj', 'q_proj']);
    expect([...shapes.keys()]).toEqual([
      loraTensorName(0, 'q_proj', 'A'),
      loraTensorName(0, 'q_proj', 'B'),
      loraTensorName(0, 'v_proj', 'A'),
      loraTensorName(0, 'v_proj', 'B'),
      loraTensorName(1, 'q_proj', 'A'),
      loraTensorName(1, 'q_proj', 'B'),
      loraTensorName(1, 'v_proj', 'A'),
      loraTensorName(1, 'v_proj', 'B'),
    ]);
  });
});

describe('adapterConfig', () => {
  const config = adapterConfig({
    base_model_name_or_path: 'HuggingFaceTB/SmolVLM-256M-Instruct',
    r: 16,
    lora_alpha: 32,
    lora_dropout: 0.05,
    target_modules: ['q_proj', 'v_proj', 'down_proj'],
  });
  // PEFT matches a string target_modules with re.fullmatch against module names.
  const fullMatch = (name: string) => new RegExp(`^(?:${config.target_modules})$`).test(name);

  it('writes the LoRA fields PEFT reads', () => {
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
    });
  });

  it('sorts its keys, as PEFT json.dumps(sort_keys=True) does', () => {
    const keys = Object.keys(config);
    expect(keys).toEqual([...keys].sort());
    expect(keys).toHaveLength(20);
  });

  it('targets the chosen modules of the text model only, never the vision tower', () => {
    expect(typeof config.target_modules).toBe('string');
    expect(fullMatch('model.text_model.layers.0.self_attn.q_proj')).toBe(true);
    expect(fullMatch('model.text_model.layers.29.self_attn.v_proj')).toBe(true);
    expect(fullMatch('model.text_model.layers.11.mlp.down_proj')).toBe(true);
    // Not chosen.
    expect(fullMatch('model.text_model.layers.0.self_attn.k_proj')).toBe(false);
    expect(fullMatch('model.text_model.layers.0.mlp.up_proj')).toBe(false);
    // SigLIP's own q_proj/v_proj.
    expect(fullMatch('model.vision_model.encoder.layers.0.self_attn.q_proj')).toBe(false);
    // Full match: neither a child module nor a prefix.
    expect(fullMatch('model.text_model.layers.0.self_attn.q_proj.lora_A')).toBe(false);
    expect(fullMatch('model.text_model.layers.0.self_attn.q_proj_x')).toBe(false);
    // The dots are literal.
    expect(fullMatch('modelXtext_model.layers.0.self_attn.q_proj')).toBe(false);
  });

  it('matches every module loraTensorName names, less the PEFT prefix and suffix', () => {
    const all = adapterConfig(settings(4));
    const re = new RegExp(`^(?:${all.target_modules})$`);
    for (const name of expectedLoraShapes(TINY, 4, ALL).keys()) {
      const module = name.replace(/^base_model\.model\./, '').replace(/\.lora_[AB]\.weight$/, '');
      expect(re.test(module), module).toBe(true);
    }
  });
});

describe('packAdapterZip / unpackAdapterZip', () => {
  it('round-trips config and tensors through a zip PEFT can read', () => {
    const config: PeftLoraConfig = adapterConfig(settings(R));
    const tensors = tensorsFor(expectedLoraShapes(TINY, R, ALL));
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

describe('importAdapterZip', () => {
  const expected = expectedLoraShapes(TINY, R, ALL);

  it('imports an adapter that fits, with every value', () => {
    const tensors = tensorsFor(expected);
    const zip = packAdapterZip({ config: adapterConfig(settings(R)), tensors });
    const imported = importAdapterZip(zip, expected, R);
    expect(imported.config.r).toBe(R);
    expect([...imported.tensors.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const tensor of tensors) expect(imported.tensors.get(tensor.name)).toEqual(tensor.data);
  });

  it('decodes F16 adapter weights', () => {
    // One layer, q_proj only, hidden 2 = 1 head × 2, r = 1: A is [1, 2], B is [2, 1].
    const dims = { ...TINY, num_hidden_layers: 1, hidden_size: 2, num_attention_heads: 1 };
    const small = expectedLoraShapes({ ...dims, head_dim: 2 }, 1, ['q_proj']);
    const a = loraTensorName(0, 'q_proj', 'A');
    const b = loraTensorName(0, 'q_proj', 'B');
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
    const imported = importAdapterZip(zip, small, 1);
    expect(imported.tensors.get(a)).toEqual(new Float32Array([1, -2]));
    expect(imported.tensors.get(b)).toEqual(new Float32Array([0.5, 65504]));
  });

  it('rejects an adapter for another hidden size, and says only that', () => {
    // The same layout (1 layer, q_proj, r = 2) but SmolVLM-256M's 576 against the 500M's 960.
    const one = (dims: TextModelDims) => ({ ...dims, num_hidden_layers: 1 });
    const zip = adapterZip(one(SMOLVLM_256M), 2, ['q_proj']);
    const model = expectedLoraShapes(one(SMOLVLM_500M), 2, ['q_proj']);
    const error = adapterError(() => importAdapterZip(zip, model, 2));
    expect(error.issues).toEqual([
      'adapter is for a model with hidden size 576, this model has 960',
    ]);
    expect(error.message).toBe(error.issues.join('\n'));
  });

  it('rejects another layer count', () => {
    const zip = adapterZip({ ...TINY, num_hidden_layers: 1 }, R);
    expect(adapterError(() => importAdapterZip(zip, expected, R)).issues).toEqual([
      'adapter is for a model with 1 layers, this model has 2',
    ]);
  });

  it('rejects a wrong rank', () => {
    // Shapes and config both say r = 2; the model's LoRA has r = 3.
    const zip = adapterZip(TINY, 2);
    expect(
      adapterError(() => importAdapterZip(zip, expectedLoraShapes(TINY, 3, ALL), 3)).issues,
    ).toEqual(["adapter has rank r = 2, this model's LoRA uses r = 3"]);
  });

  it('rejects missing tensors, counting and naming them', () => {
    // The adapter has q and v: 2 layers × 2 modules × 2 = 8 of the model's 28, 20 missing.
    const zip = adapterZip(TINY, R, ['q_proj', 'v_proj']);
    const error = adapterError(() => importAdapterZip(zip, expected, R));
    expect(error.issues).toEqual([
      'adapter lacks 20 tensor(s) this model needs: ' +
        `${loraTensorName(0, 'k_proj', 'A')}, ${loraTensorName(0, 'k_proj', 'B')}, ` +
        `${loraTensorName(0, 'o_proj', 'A')}, … (17 more)`,
    ]);
  });

  it('rejects extra tensors the model has no place for', () => {
    // Model: q only (4 tensors); adapter: all 7 modules (28), 24 extra.
    const zip = adapterZip(TINY, R);
    const model = expectedLoraShapes(TINY, R, ['q_proj']);
    const error = adapterError(() => importAdapterZip(zip, model, R));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatch(/^adapter has 24 tensor\(s\) this model has no place for: /);
    expect(error.issues[0]).toMatch(/\(21 more\)$/);
  });

  it('rejects a tensor of the wrong shape, giving both shapes', () => {
    const tensors = tensorsFor(expected);
    const name = loraTensorName(1, 'k_proj', 'B');
    const k = tensors.find((t) => t.name === name);
    if (k === undefined) throw new Error('no k_proj B');
    // [5, 3] → [6, 3]: a width the GQA model does not have.
    k.shape = [6, 3];
    k.data = new Float32Array(18);
    const zip = packAdapterZip({ config: adapterConfig(settings(R)), tensors });
    expect(adapterError(() => importAdapterZip(zip, expected, R)).issues).toEqual([
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
    expect(adapterError(() => importAdapterZip(zip, expected, R)).issues).toEqual([
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
    const error = adapterError(() => importAdapterZip(zip, expected, R));
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
    expect(adapterError(() => importAdapterZip(zip, expected, R)).issues).toEqual([
      'adapter holds no tensors',
    ]);
  });
});

describe('validateAdapter', () => {
  it('rejects tensors it cannot decode to float32', () => {
    const expected = expectedLoraShapes(TINY, R, ['q_proj']);
    const tensors = [...expected].map(([name, shape]) => ({ name, dtype: 'F32', shape }));
    const first = tensors[0];
    if (first === undefined) throw new Error('no tensors');
    first.dtype = 'I8';
    expect(validateAdapter({ ...adapterConfig(settings(R)) }, tensors, expected, R)).toEqual([
      `tensors must be F32, F16 or BF16: ${first.name} is I8`,
    ]);
  });

  it('accepts a fitting adapter with no issues', () => {
    const expected = expectedLoraShapes(TINY, R, ALL);
    const tensors = [...expected].map(([name, shape]) => ({ name, dtype: 'BF16', shape }));
    expect(validateAdapter({ ...adapterConfig(settings(R)) }, tensors, expected, R)).toEqual([]);
  });
});
