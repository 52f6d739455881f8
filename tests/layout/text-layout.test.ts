// The text model's layout: shapes from the config, and every name a projection goes by in the
// checkpoint, in PEFT's keys and in PEFT's target_modules, for each text prefix a checkpoint uses.
import { describe, expect, it } from 'vitest';
import {
  checkpointNames,
  findTextPrefix,
  LORA_TARGET_MODULES,
  locateLoraKey,
  loraKey,
  loraShapes,
  PROJECTIONS,
  type Projection,
  projectionOf,
  projectionShape,
  TEXT_PREFIXES,
  type TextLayout,
  type TextPrefix,
  targetModulesPattern,
} from '../../src/layout/textLayout';
import { SMOLVLM_256M_DIMS, TINY_DIMS, textLayout } from './fixtures';

const SMOLVLM = 'model.text_model.';

const TINY = textLayout(TINY_DIMS).config;
const SMOLVLM_256M = textLayout(SMOLVLM_256M_DIMS).config;

const tiny = (textPrefix: TextPrefix = SMOLVLM): TextLayout => ({ config: TINY, textPrefix });

describe('projections', () => {
  it('are the seven linear layers of a Llama block, under their PEFT module names', () => {
    expect(LORA_TARGET_MODULES).toEqual([
      'q_proj',
      'k_proj',
      'v_proj',
      'o_proj',
      'gate_proj',
      'up_proj',
      'down_proj',
    ]);
    for (const p of PROJECTIONS) expect(projectionOf(`${p}_proj`)).toBe(p);
  });

  it('names the fix for an unknown module', () => {
    expect(() => projectionOf('out_proj')).toThrow(
      'unknown LoRA target module "out_proj": use some of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj',
    );
  });

  it('have [out, in] shapes from the config', () => {
    const shapes = Object.fromEntries(PROJECTIONS.map((p) => [p, projectionShape(TINY, p)]));
    expect(shapes).toEqual({
      q: [10, 8],
      k: [5, 8],
      v: [5, 8],
      o: [8, 10],
      gate: [12, 8],
      up: [12, 8],
      down: [8, 12],
    });
  });
});

describe('checkpoint names', () => {
  it('finds the text prefix by the embedding, SmolVLM first', () => {
    const has = (names: string[]) => (name: string) => names.includes(name);
    expect(findTextPrefix(has(['model.text_model.embed_tokens.weight']))).toBe(SMOLVLM);
    expect(findTextPrefix(has(['model.language_model.embed_tokens.weight']))).toBe(
      'model.language_model.',
    );
    expect(findTextPrefix(has(['model.embed_tokens.weight']))).toBe('model.');
    expect(findTextPrefix(has(['vision.embed_tokens.weight']))).toBeUndefined();
  });

  it('names every tensor under the prefix, attention under self_attn, the MLP under mlp', () => {
    const config = { ...TINY, attentionBias: true, tieWordEmbeddings: false };
    const names = checkpointNames({ config, textPrefix: 'model.language_model.' });
    expect(names.embed).toBe('model.language_model.embed_tokens.weight');
    expect(names.norm).toBe('model.language_model.norm.weight');
    expect(names.lmHead).toBe('lm_head.weight');
    expect(names.layers).toHaveLength(2);
    expect(names.layers[1]).toEqual({
      inputNorm: 'model.language_model.layers.1.input_layernorm.weight',
      postNorm: 'model.language_model.layers.1.post_attention_layernorm.weight',
      q: 'model.language_model.layers.1.self_attn.q_proj.weight',
      k: 'model.language_model.layers.1.self_attn.k_proj.weight',
      v: 'model.language_model.layers.1.self_attn.v_proj.weight',
      o: 'model.language_model.layers.1.self_attn.o_proj.weight',
      gate: 'model.language_model.layers.1.mlp.gate_proj.weight',
      up: 'model.language_model.layers.1.mlp.up_proj.weight',
      down: 'model.language_model.layers.1.mlp.down_proj.weight',
      qBias: 'model.language_model.layers.1.self_attn.q_proj.bias',
      kBias: 'model.language_model.layers.1.self_attn.k_proj.bias',
      vBias: 'model.language_model.layers.1.self_attn.v_proj.bias',
    });
    expect(checkpointNames(tiny()).lmHead).toBe('lm_head.weight');
    expect(
      checkpointNames({ config: { ...TINY, tieWordEmbeddings: true }, textPrefix: 'model.' }),
    ).toMatchObject({ embed: 'model.embed_tokens.weight', lmHead: null });
  });
});

describe('loraKey', () => {
  it('lays keys out as PEFT does on SmolVLM: attention under self_attn, the MLP under mlp', () => {
    expect(loraKey(SMOLVLM, 0, 'q', 'A')).toBe(
      'base_model.model.model.text_model.layers.0.self_attn.q_proj.lora_A.weight',
    );
    expect(loraKey(SMOLVLM, 29, 'o', 'B')).toBe(
      'base_model.model.model.text_model.layers.29.self_attn.o_proj.lora_B.weight',
    );
    for (const p of ['k', 'v'] as const) {
      expect(loraKey(SMOLVLM, 3, p, 'A')).toBe(
        `base_model.model.model.text_model.layers.3.self_attn.${p}_proj.lora_A.weight`,
      );
    }
    for (const p of ['gate', 'up', 'down'] as const) {
      expect(loraKey(SMOLVLM, 7, p, 'B')).toBe(
        `base_model.model.model.text_model.layers.7.mlp.${p}_proj.lora_B.weight`,
      );
    }
  });

  it('follows the checkpoint: PEFT keys are the module path after base_model.model.', () => {
    expect(loraKey('model.language_model.', 2, 'up', 'A')).toBe(
      'base_model.model.model.language_model.layers.2.mlp.up_proj.lora_A.weight',
    );
    expect(loraKey('model.', 0, 'v', 'B')).toBe(
      'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight',
    );
  });
});

describe('loraShapes', () => {
  it('gives lora_A r × in and lora_B out × r for every module of every layer', () => {
    const R = 3;
    const shapes = loraShapes(tiny(), R, LORA_TARGET_MODULES);
    // 2 layers × 7 modules × (A, B) = 28 tensors.
    expect(shapes.size).toBe(28);
    const layer1 = (p: Projection) => [
      shapes.get(loraKey(SMOLVLM, 1, p, 'A')),
      shapes.get(loraKey(SMOLVLM, 1, p, 'B')),
    ];
    // q: 8 → 2 × 5 = 10; k, v: 8 → 1 × 5 = 5; o: 10 → 8.
    expect(layer1('q')).toEqual([
      [3, 8],
      [10, 3],
    ]);
    expect(layer1('k')).toEqual([
      [3, 8],
      [5, 3],
    ]);
    expect(layer1('v')).toEqual([
      [3, 8],
      [5, 3],
    ]);
    expect(layer1('o')).toEqual([
      [3, 10],
      [8, 3],
    ]);
    // gate, up: 8 → 12; down: 12 → 8.
    expect(layer1('gate')).toEqual([
      [3, 8],
      [12, 3],
    ]);
    expect(layer1('up')).toEqual([
      [3, 8],
      [12, 3],
    ]);
    expect(layer1('down')).toEqual([
      [3, 12],
      [8, 3],
    ]);
    expect(shapes.has(loraKey(SMOLVLM, 2, 'q', 'A'))).toBe(false);
  });

  it('uses SmolVLM-256M GQA widths: k/v are 3 heads × 64 = 192 wide, q 9 × 64 = 576', () => {
    const shapes = loraShapes(
      { config: SMOLVLM_256M, textPrefix: SMOLVLM },
      8,
      LORA_TARGET_MODULES,
    );
    expect(shapes.size).toBe(30 * 7 * 2);
    expect(shapes.get(loraKey(SMOLVLM, 29, 'k', 'B'))).toEqual([192, 8]);
    expect(shapes.get(loraKey(SMOLVLM, 29, 'v', 'B'))).toEqual([192, 8]);
    expect(shapes.get(loraKey(SMOLVLM, 29, 'q', 'B'))).toEqual([576, 8]);
    expect(shapes.get(loraKey(SMOLVLM, 0, 'down', 'A'))).toEqual([8, 1536]);
  });

  it('lists only the targeted modules, in the model order whatever the order given', () => {
    const shapes = loraShapes(tiny('model.'), 3, ['v_proj', 'q_proj']);
    expect([...shapes.keys()]).toEqual([
      loraKey('model.', 0, 'q', 'A'),
      loraKey('model.', 0, 'q', 'B'),
      loraKey('model.', 0, 'v', 'A'),
      loraKey('model.', 0, 'v', 'B'),
      loraKey('model.', 1, 'q', 'A'),
      loraKey('model.', 1, 'q', 'B'),
      loraKey('model.', 1, 'v', 'A'),
      loraKey('model.', 1, 'v', 'B'),
    ]);
  });
});

describe('locateLoraKey', () => {
  it('reads the layer and the hidden-size axis from a key, whatever its prefix', () => {
    expect(locateLoraKey(loraKey(SMOLVLM, 4, 'q', 'A'))).toEqual({ layer: 4, hiddenAxis: 1 });
    expect(locateLoraKey(loraKey(SMOLVLM, 4, 'q', 'B'))).toEqual({ layer: 4, hiddenAxis: null });
    expect(locateLoraKey(loraKey('model.', 0, 'o', 'B'))).toEqual({ layer: 0, hiddenAxis: 0 });
    expect(locateLoraKey(loraKey('model.language_model.', 11, 'down', 'A'))).toEqual({
      layer: 11,
      hiddenAxis: null,
    });
    // A module the model does not have still tells its layer.
    expect(
      locateLoraKey('base_model.model.model.text_model.layers.3.mlp.fc1.lora_A.weight'),
    ).toEqual({ layer: 3, hiddenAxis: null });
    expect(locateLoraKey('x')).toBe(null);
  });

  it('agrees with the shapes: the hidden axis of every key holds the hidden size', () => {
    for (const [name, shape] of loraShapes(tiny(), 3, LORA_TARGET_MODULES)) {
      const axis = locateLoraKey(name)?.hiddenAxis;
      if (axis != null) expect(shape[axis], name).toBe(TINY.hiddenSize);
    }
  });
});

describe('targetModulesPattern', () => {
  // PEFT matches a string target_modules with re.fullmatch against module names.
  const fullMatcher = (pattern: string) => (name: string) =>
    new RegExp(`^(?:${pattern})$`).test(name);

  it('targets the chosen modules of the text model only, never the vision tower', () => {
    const fullMatch = fullMatcher(targetModulesPattern(SMOLVLM, ['q_proj', 'v_proj', 'down_proj']));
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

  it('is anchored at the checkpoint text prefix', () => {
    const fullMatch = fullMatcher(targetModulesPattern('model.language_model.', ['q_proj']));
    expect(fullMatch('model.language_model.layers.3.self_attn.q_proj')).toBe(true);
    expect(fullMatch('model.text_model.layers.3.self_attn.q_proj')).toBe(false);
    expect(fullMatch('model.visual.blocks.3.attn.q_proj')).toBe(false);
  });

  it('matches every module loraKey names, less the PEFT prefix and suffix', () => {
    for (const textPrefix of TEXT_PREFIXES) {
      const fullMatch = fullMatcher(targetModulesPattern(textPrefix, LORA_TARGET_MODULES));
      for (const name of loraShapes(tiny(textPrefix), 4, LORA_TARGET_MODULES).keys()) {
        const module = name.replace(/^base_model\.model\./, '').replace(/\.lora_[AB]\.weight$/, '');
        expect(fullMatch(module), module).toBe(true);
      }
    }
  });
});
