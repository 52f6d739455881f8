// Text models for the layout and adapter-file tests, under Hugging Face's config names.
import { parseTextConfig } from '../../src/layout/textConfig';
import type { TextLayout, TextPrefix } from '../../src/layout/textLayout';

type Dims = {
  num_hidden_layers: number;
  hidden_size: number;
  intermediate_size: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
};

// Small, with every width different so a swapped in/out or q/kv width shows:
// hidden 8, q width 2 heads × 5 = 10, k/v width 1 head × 5 = 5 (GQA), MLP 12.
export const TINY_DIMS: Dims = {
  num_hidden_layers: 2,
  hidden_size: 8,
  intermediate_size: 12,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  head_dim: 5,
};

// SmolVLM-256M's text model (hidden 576) and SmolVLM-500M's (hidden 960).
export const SMOLVLM_256M_DIMS: Dims = {
  num_hidden_layers: 30,
  hidden_size: 576,
  intermediate_size: 1536,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  head_dim: 64,
};
export const SMOLVLM_500M_DIMS: Dims = {
  num_hidden_layers: 32,
  hidden_size: 960,
  intermediate_size: 2560,
  num_attention_heads: 15,
  num_key_value_heads: 5,
  head_dim: 64,
};

/** A text model of these sizes whose checkpoint puts it under `textPrefix` (SmolVLM's default). */
export function textLayout(dims: Dims, textPrefix: TextPrefix = 'model.text_model.'): TextLayout {
  return { config: parseTextConfig({ ...dims, vocab_size: 1 }), textPrefix };
}
