// The text model's layout, declared once: its seven projections, the widths each maps between
// (so every shape follows from the TextConfig), and every name they go by — in the checkpoint,
// in PEFT's adapter keys and in PEFT's target_modules. Pure (no jax-js), so the page can import
// the module names too.
import type { TextConfig } from './textConfig';

export const PROJECTIONS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type Projection = (typeof PROJECTIONS)[number];

/** A projection's module name, in the checkpoint and in PEFT: q_proj … down_proj. */
export type LoraTargetModule = `${Projection}_proj`;

function moduleName(p: Projection): LoraTargetModule {
  return `${p}_proj`;
}

/** Every module LoRA can adapt, in the model's order (the order of exported tensors too). */
export const LORA_TARGET_MODULES: readonly LoraTargetModule[] = PROJECTIONS.map(moduleName);

function findProjection(module: string | undefined): Projection | undefined {
  return PROJECTIONS.find((p) => moduleName(p) === module);
}

type Width = 'hidden' | 'query' | 'keyValue' | 'intermediate';

/** Each projection's block (its module path) and the widths it maps, as [out, in]. */
const LAYOUT: Record<Projection, { block: 'self_attn' | 'mlp'; out: Width; in: Width }> = {
  q: { block: 'self_attn', out: 'query', in: 'hidden' },
  k: { block: 'self_attn', out: 'keyValue', in: 'hidden' },
  v: { block: 'self_attn', out: 'keyValue', in: 'hidden' },
  o: { block: 'self_attn', out: 'hidden', in: 'query' },
  gate: { block: 'mlp', out: 'intermediate', in: 'hidden' },
  up: { block: 'mlp', out: 'intermediate', in: 'hidden' },
  down: { block: 'mlp', out: 'hidden', in: 'intermediate' },
};

function width(config: TextConfig, w: Width): number {
  switch (w) {
    case 'hidden':
      return config.hiddenSize;
    case 'query':
      return config.numHeads * config.headDim;
    case 'keyValue':
      return config.numKvHeads * config.headDim;
    case 'intermediate':
      return config.intermediateSize;
  }
}

/** [out, in] of a projection's weight (Hugging Face's layout). */
export function projectionShape(config: TextConfig, p: Projection): [number, number] {
  return [width(config, LAYOUT[p].out), width(config, LAYOUT[p].in)];
}

/** The projection a PEFT module name stands for. */
export function projectionOf(module: string): Projection {
  const p = findProjection(module);
  if (!p) {
    throw new Error(
      `unknown LoRA target module "${module}": use some of ${LORA_TARGET_MODULES.join(', ')}`,
    );
  }
  return p;
}

/** Where the language model sits in a checkpoint: SmolVLM / Idefics3, newer VLMs, bare decoders. */
export const TEXT_PREFIXES = ['model.text_model.', 'model.language_model.', 'model.'] as const;
export type TextPrefix = (typeof TEXT_PREFIXES)[number];

/** The prefix of the checkpoint's text model, found by its embedding; undefined if it has none. */
export function findTextPrefix(has: (name: string) => boolean): TextPrefix | undefined {
  return TEXT_PREFIXES.find((prefix) => has(`${prefix}embed_tokens.weight`));
}

/** What names depend on: the shapes, and where the text model sits in the checkpoint. */
export type TextLayout = { config: TextConfig; textPrefix: TextPrefix };

/** A projection's module path in the model, e.g. model.text_model.layers.3.mlp.up_proj. */
function modulePath(textPrefix: TextPrefix, layer: number, p: Projection): string {
  return `${textPrefix}layers.${layer}.${LAYOUT[p].block}.${moduleName(p)}`;
}

/** The checkpoint names of one layer's tensors, by their role in the decoder's LayerWeights. */
function layerTensorNames({ config, textPrefix }: TextLayout, l: number): Record<string, string> {
  const names: Record<string, string> = {
    inputNorm: `${textPrefix}layers.${l}.input_layernorm.weight`,
    postNorm: `${textPrefix}layers.${l}.post_attention_layernorm.weight`,
  };
  for (const p of PROJECTIONS) names[p] = `${modulePath(textPrefix, l, p)}.weight`;
  if (config.attentionBias) {
    for (const p of ['q', 'k', 'v'] as const)
      names[`${p}Bias`] = `${modulePath(textPrefix, l, p)}.bias`;
  }
  return names;
}

/** The checkpoint names of every text-model tensor, by role. */
export function checkpointNames(layout: TextLayout) {
  const { config, textPrefix } = layout;
  return {
    embed: `${textPrefix}embed_tokens.weight`,
    norm: `${textPrefix}norm.weight`,
    lmHead: config.tieWordEmbeddings ? null : 'lm_head.weight',
    layers: Array.from({ length: config.numLayers }, (_, l) => layerTensorNames(layout, l)),
  };
}

/** PEFT's state-dict key of a LoRA matrix: lora_A is r × in, lora_B is out × r. */
export function loraKey(
  textPrefix: TextPrefix,
  layer: number,
  p: Projection,
  matrix: 'A' | 'B',
): string {
  return `base_model.model.${modulePath(textPrefix, layer, p)}.lora_${matrix}.weight`;
}

/** Every LoRA tensor of the model for rank r and these modules, PEFT key → shape, in model order. */
export function loraShapes(
  { config, textPrefix }: TextLayout,
  r: number,
  modules: readonly LoraTargetModule[],
): Map<string, [number, number]> {
  const projections = PROJECTIONS.filter((p) => modules.includes(moduleName(p)));
  const shapes = new Map<string, [number, number]>();
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (const p of projections) {
      const [out, inp] = projectionShape(config, p);
      shapes.set(loraKey(textPrefix, layer, p, 'A'), [r, inp]);
      shapes.set(loraKey(textPrefix, layer, p, 'B'), [out, r]);
    }
  }
  return shapes;
}

/**
 * What a LoRA key says of the model it was made for, whatever its prefix: its layer, and which
 * axis of its shape is the hidden size (lora_A of a projection reading the residual stream, lora_B
 * of one writing it), or null. Lets an adapter for another model be named in one sentence.
 */
export function locateLoraKey(name: string): { layer: number; hiddenAxis: 0 | 1 | null } | null {
  const layer = /\.layers\.(\d+)\./.exec(name)?.[1];
  if (layer === undefined) return null;
  const [, module, matrix] = /\.(\w+)\.lora_([AB])\.weight$/.exec(name) ?? [];
  const p = findProjection(module);
  let hiddenAxis: 0 | 1 | null = null;
  if (p && matrix === 'A' && LAYOUT[p].in === 'hidden') hiddenAxis = 1;
  if (p && matrix === 'B' && LAYOUT[p].out === 'hidden') hiddenAxis = 0;
  return { layer: Number(layer), hiddenAxis };
}

/**
 * PEFT's target_modules for these modules, as a regular expression it full-matches against
 * module names: as a plain list PEFT matches by suffix, and SmolVLM's SigLIP vision tower has its
 * own q_proj, k_proj and v_proj, which would get fresh (unsaved) LoRA layers and "missing keys"
 * warnings. Anchored at the checkpoint's own text prefix, so PEFT finds the modules it names.
 */
export function targetModulesPattern(
  textPrefix: TextPrefix,
  modules: readonly LoraTargetModule[],
): string {
  // The prefixes hold no regex metacharacter but the dot.
  const prefix = textPrefix.replaceAll('.', '\\.');
  const blocks = [...new Set(PROJECTIONS.map((p) => LAYOUT[p].block))].join('|');
  return `${prefix}layers\\.\\d+\\.(${blocks})\\.(${modules.join('|')})`;
}
