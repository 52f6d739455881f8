import { describe, expect, it } from 'vitest';
import { parseTextConfig } from '../../src/layout/textConfig';

describe('parseTextConfig', () => {
  // SmolVLM-500M-Instruct's text_config as transformers saves it: values equal to LlamaConfig's
  // defaults are left out (num_hidden_layers 32 here).
  const smolvlm500m = {
    image_token_id: 49190,
    text_config: {
      model_type: 'llama',
      hidden_size: 960,
      intermediate_size: 2560,
      num_attention_heads: 15,
      num_key_value_heads: 5,
      rms_norm_eps: 1e-5,
      rope_theta: 100000,
      vocab_size: 49280,
    },
  };

  it('takes a missing field from the model type defaults, as transformers does', () => {
    const config = parseTextConfig(smolvlm500m);
    expect(config).toMatchObject({
      numLayers: 32,
      hiddenSize: 960,
      numHeads: 15,
      numKvHeads: 5,
      headDim: 64,
      ropeTheta: 100000,
      rmsNormEps: 1e-5,
      imageTokenId: 49190,
      tieWordEmbeddings: false,
    });
    const bare = parseTextConfig({ model_type: 'mistral', hidden_size: 1024 });
    expect(bare).toMatchObject({ numLayers: 32, numKvHeads: 8, intermediateSize: 14336 });
  });

  it('names the supported types for an unknown one', () => {
    expect(() => parseTextConfig({ model_type: 'gpt2' })).toThrow(
      'unsupported text model_type "gpt2" (supported: llama, qwen2, mistral)',
    );
  });
});
