// The text model's shape, read from a Hugging Face config.json. SmolVLM / Idefics3 keep the
// language model under `text_config` (a llama config); a plain llama or qwen2 config is the
// text model itself. Qwen2-style models add q/k/v biases and usually tie lm_head to the
// embedding: both are flags here, not separate code paths.

export type TextConfig = {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  ropeTheta: number;
  rmsNormEps: number;
  /** q/k/v projections carry a bias (Qwen2). */
  attentionBias: boolean;
  /** lm_head shares the embedding matrix. */
  tieWordEmbeddings: boolean;
  eosTokenIds: number[];
  /** The `<image>` placeholder whose embeddings are replaced by image features (VLMs only). */
  imageTokenId: number | null;
};

type HubConfig = Record<string, unknown>;

function num(cfg: HubConfig, key: string, fallback?: number): number {
  const v = cfg[key];
  if (typeof v === 'number') return v;
  if (fallback !== undefined) return fallback;
  throw new Error(`config.json: missing numeric field "${key}"`);
}

function ids(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

/**
 * transformers' config defaults per model type (LlamaConfig, Qwen2Config, MistralConfig): a
 * config.json saved by transformers leaves out every value equal to its default (SmolVLM-500M's
 * text_config has no num_hidden_layers: it is LlamaConfig's 32), so a missing field means this.
 */
const TEXT_DEFAULTS: Record<string, Record<string, number>> = {
  llama: {
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    rope_theta: 10000,
    rms_norm_eps: 1e-6,
  },
  qwen2: {
    vocab_size: 151936,
    hidden_size: 4096,
    intermediate_size: 22016,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    rope_theta: 10000,
    rms_norm_eps: 1e-6,
  },
  mistral: {
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 14336,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    rope_theta: 10000,
    rms_norm_eps: 1e-6,
  },
};
const SUPPORTED_TEXT_MODELS = Object.keys(TEXT_DEFAULTS);

/** Parses the text model's config from a Hub config.json (VLM wrapper or bare decoder). */
export function parseTextConfig(hub: HubConfig): TextConfig {
  const given = (hub.text_config as HubConfig | undefined) ?? hub;
  const modelType = String(given.model_type ?? 'llama');
  if (!SUPPORTED_TEXT_MODELS.includes(modelType)) {
    throw new Error(
      `unsupported text model_type "${modelType}" (supported: ${SUPPORTED_TEXT_MODELS.join(', ')})`,
    );
  }
  const text: HubConfig = { ...TEXT_DEFAULTS[modelType], ...given };
  if (text.rope_scaling != null) throw new Error('rope_scaling is not supported');
  const hiddenSize = num(text, 'hidden_size');
  const numHeads = num(text, 'num_attention_heads');
  const tie = text.tie_word_embeddings ?? hub.tie_word_embeddings ?? false;
  const eos = ids(text.eos_token_id).concat(ids(hub.eos_token_id));
  const imageTokenId = hub.image_token_id ?? text.image_token_id;
  return {
    vocabSize: num(text, 'vocab_size'),
    hiddenSize,
    intermediateSize: num(text, 'intermediate_size'),
    numLayers: num(text, 'num_hidden_layers'),
    numHeads,
    numKvHeads: num(text, 'num_key_value_heads', numHeads),
    headDim: num(text, 'head_dim', hiddenSize / numHeads),
    ropeTheta: num(text, 'rope_theta'),
    rmsNormEps: num(text, 'rms_norm_eps'),
    attentionBias: Boolean(text.attention_bias ?? modelType === 'qwen2'),
    tieWordEmbeddings: Boolean(tie),
    eosTokenIds: [...new Set(eos)],
    imageTokenId: typeof imageTokenId === 'number' ? imageTokenId : null,
  };
}
