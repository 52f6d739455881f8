// The PyTorch reference tools/real-size/build.py writes beside a checkpoint (ttrv/reference.json
// and ttrv/reference.safetensors), parsed without the file system so that the Node checks and the
// in-browser benchmark page read it the same way.
import { decodeTensorToFloat32, parseSafetensors } from '../../src/formats/safetensors';

export type Reference = {
  input_ids: number[];
  grpo?: {
    completions: number[][];
    advantages: number[];
    epsilon: number;
    beta: number;
    entropy_coef: number;
    loss: number;
    lora: { r: number; lora_alpha: number };
    grad_keys: string[];
  };
  logit_positions: number[];
  greedy_ids?: number[];
  greedy_min_logit_margin?: number;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
};

/** `json`: ttrv/reference.json's text; `tensors`: ttrv/reference.safetensors' bytes. */
export function parseReference(json: string, tensors: Uint8Array): Reference {
  return {
    ...JSON.parse(json),
    tensors: new Map(
      parseSafetensors(tensors).tensors.map((t) => [
        t.name,
        { shape: t.shape, data: decodeTensorToFloat32(t.dtype, t.data) },
      ]),
    ),
  };
}
