"""The shapes and the Hub configuration files of HuggingFaceTB/SmolVLM-256M-Instruct and -500M-Instruct.

Every value below is a fact read from a public copy of the Hub files; README.md ("Sources") says
which copy each came from. `tiny` is ours: the same files and code path, with a small text and
vision model (vocabulary, image size, patch size, pixel shuffle and so the 64 image tokens are
the real ones), for tests.
"""

import json
import os

import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "demo-model"))

from model import Config  # noqa: E402  (tools/demo-model/model.py: the Idefics3 in plain PyTorch)

VOCAB_SIZE = 49280  # text_config.vocab_size: 49,152 SmolLM2 tokens + 128 added ones
IMAGE_TOKEN_ID = 49190  # "<image>"
TRANSFORMERS_VERSION = "4.46.0"  # generation_config.json of both repositories

# The vision tower of both sizes: SigLIP base/16 at 512 px (google/siglip-base-patch16-512, the
# "93M" encoder of the model card), pixel shuffle 4: (512/16)^2 = 1024 patches -> 64 tokens.
SIGLIP_B16_512 = dict(image_size=512, patch_size=16, v_hidden=768, v_intermediate=3072, v_layers=12, v_heads=12,
                      ln_eps=1e-6, scale_factor=4)

SHAPES = {
    "256m": dict(  # text model: SmolLM2-135M
        repo="HuggingFaceTB/SmolVLM-256M-Instruct",
        config=Config(vocab_size=VOCAB_SIZE, image_token_id=IMAGE_TOKEN_ID, hidden=576, intermediate=1536, layers=30,
                      heads=9, kv_heads=3, head_dim=64, rope_theta=100000.0, rms_eps=1e-5, max_position_embeddings=8192,
                      **SIGLIP_B16_512),
        initializer_range=0.041666666666666664,
    ),
    "500m": dict(  # text model: SmolLM2-360M
        repo="HuggingFaceTB/SmolVLM-500M-Instruct",
        config=Config(vocab_size=VOCAB_SIZE, image_token_id=IMAGE_TOKEN_ID, hidden=960, intermediate=2560, layers=32,
                      heads=15, kv_heads=5, head_dim=64, rope_theta=100000.0, rms_eps=1e-5, max_position_embeddings=8192,
                      **SIGLIP_B16_512),
        initializer_range=0.02,
    ),
    "tiny": dict(  # ours: GQA 3:1 as in 256m, real vocabulary and image geometry, seconds to build
        repo=None,
        config=Config(vocab_size=VOCAB_SIZE, image_token_id=IMAGE_TOKEN_ID, hidden=96, intermediate=256, layers=2,
                      heads=6, kv_heads=2, head_dim=16, rope_theta=100000.0, rms_eps=1e-5, max_position_embeddings=8192,
                      image_size=512, patch_size=16, v_hidden=32, v_intermediate=64, v_layers=1, v_heads=2, ln_eps=1e-6,
                      scale_factor=4),
        initializer_range=0.02,
    ),
}

CHAT_TEMPLATE = (  # chat_template.json of both repositories (429 bytes, as written below)
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
    "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)


def dump_json(obj, path, ensure_ascii=True, newline=True):
    """As transformers writes its JSON files (indent 2, sorted keys, a trailing newline)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=ensure_ascii) + ("\n" if newline else ""))


def config_json(shape):
    s = SHAPES[shape]
    c = s["config"]
    text = {
        "_flash_attn_2_enabled": True,
        "_name_or_path": "None",
        "architectures": ["VLlama3ForCausalLM"],
        "head_dim": c.head_dim,
        "hidden_size": c.hidden,
        "initializer_range": s["initializer_range"],
        "intermediate_size": c.intermediate,
        "is_llama_config": True,
        "max_position_embeddings": c.max_position_embeddings,
        "model_type": "llama",
        "neftune_noise_alpha": 0.0,
        "num_attention_heads": c.heads,
        "num_hidden_layers": c.layers,
        "num_key_value_heads": c.kv_heads,
        "pad_token_id": 2,
        "pixel_shuffle_factor": c.scale_factor,
        "qk_layer_norms": False,
        "rms_norm_eps": c.rms_eps,
        "rope_interleaved": False,
        "rope_theta": int(c.rope_theta),
        "torch_dtype": "bfloat16",
        "use_resampler": False,
        "vocab_size": c.vocab_size,
    }
    vision = {
        "hidden_size": c.v_hidden,
        "image_size": c.image_size,
        "max_image_size": {"longest_edge": c.image_size},
        "model_type": "idefics3",
        "num_attention_heads": c.v_heads,
        "patch_size": c.patch_size,
        "size": {"longest_edge": 2048},
        "tie_word_embeddings": False,
        "use_base_siglip": False,
    }
    if shape == "tiny":  # the Hub files leave these at transformers' defaults (3072, 12, 1e-6)
        vision.update(intermediate_size=c.v_intermediate, num_hidden_layers=c.v_layers, layer_norm_eps=c.ln_eps)
    return {
        "architectures": ["Idefics3ForConditionalGeneration"],
        "image_token_id": c.image_token_id,
        "model_type": "idefics3",
        "pad_token_id": 128002,  # sic: the Hub's top-level value (an Idefics3-Llama3 leftover); text pad is 2
        "scale_factor": c.scale_factor,
        "text_config": text,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "transformers_version": TRANSFORMERS_VERSION,
        "use_cache": True,
        "vision_config": vision,
        "vocab_size": c.vocab_size,
    }


def write_configs(out, shape, tokenizer_files):
    """config.json, generation_config.json, preprocessor_config.json, processor_config.json,
    chat_template.json, then the tokenizer files (tokenizer_files: name -> JSON object or text)."""
    c = SHAPES[shape]["config"]
    dump_json(config_json(shape), os.path.join(out, "config.json"))
    dump_json({"_from_model_config": True, "bos_token_id": 0, "eos_token_id": 49279, "pad_token_id": 2,
               "transformers_version": TRANSFORMERS_VERSION}, os.path.join(out, "generation_config.json"))
    dump_json({
        "do_convert_rgb": True,
        "do_image_splitting": True,  # as the Hub ships it; the app passes do_image_splitting: false per call
        "do_normalize": True,
        "do_pad": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "Idefics3ImageProcessor",
        "image_std": [0.5, 0.5, 0.5],
        "max_image_size": {"longest_edge": c.image_size},
        "processor_class": "Idefics3Processor",
        "resample": 1,
        "rescale_factor": 0.00392156862745098,
        "size": {"longest_edge": 2048},
    }, os.path.join(out, "preprocessor_config.json"))
    dump_json({"image_seq_len": c.image_seq_len, "processor_class": "Idefics3Processor"},
              os.path.join(out, "processor_config.json"))
    # 429 bytes on the Hub: no trailing newline in this one file.
    dump_json({"chat_template": CHAT_TEMPLATE}, os.path.join(out, "chat_template.json"), newline=False)
    for name, content in tokenizer_files.items():
        path = os.path.join(out, name)
        if isinstance(content, str):
            with open(path, "w", encoding="utf-8") as f:
                f.write(content)
        else:
            dump_json(content, path, ensure_ascii=False)
