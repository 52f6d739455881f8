// The demo model through transformers.js in Node (its SmolVLM / Idefics3 path, onnxruntime-node
// under the hood), from the files this repository ships: the baseline the engine benchmark and the
// greedy-parity test compare against, and the source of image features (the frozen ONNX vision
// encoder) for prompts the engine runs.
import path from 'node:path';
import type { PreTrainedModel, Processor, Tensor } from '@huggingface/transformers';
import {
  AutoProcessor,
  env,
  Idefics3ForConditionalGeneration,
  RawImage,
} from '@huggingface/transformers';
import { imageQuestionPrompt } from '../../src/vlm/visionLanguageModel';

export const DEMO_MODEL = 'ttrv-demo-shapes';

export type PromptInputs = {
  inputIds: number[];
  /** What transformers.js' generate takes: input_ids, attention_mask, pixel_values, … */
  tensors: Record<string, Tensor>;
};

export type TransformersDemo = {
  processor: Processor;
  model: PreTrainedModel;
  /** Chat prompt for an image file and a question, processed as the app does. */
  prompt(imageFile: string, question: string): Promise<PromptInputs>;
  /** The vision encoder's features [K, D] (K = number of <image> tokens) and their shape. */
  imageFeatures(inputs: PromptInputs): Promise<{ data: Float32Array; shape: [number, number] }>;
  /**
   * Continuation ids of `rows` copies of the prompt (transformers.js has no num_return_sequences):
   * greedy, or sampled from the full distribution (no top-k) at a temperature above 0.
   */
  generate(
    inputs: PromptInputs,
    rows: number,
    maxNewTokens: number,
    minNewTokens?: number,
    temperature?: number,
  ): Promise<number[][]>;
  dispose(): Promise<void>;
};

function repeatRows(t: Tensor, rows: number): Tensor {
  const [, ...rest] = t.dims;
  const per = rest.reduce((a, b) => a * b, 1);
  const TypedArray = t.data.constructor as new (n: number) => typeof t.data;
  const data = new TypedArray(per * rows);
  for (let r = 0; r < rows; r++)
    (data as Float32Array).set(t.data.subarray(0, per) as Float32Array, r * per);
  const TensorClass = t.constructor as new (type: string, data: unknown, dims: number[]) => Tensor;
  return new TensorClass(t.type, data, [rows, ...rest]);
}

/** Loads the demo model from `<root>/public/models` (local files only, nothing remote). */
export async function loadTransformersDemo(root: string): Promise<TransformersDemo> {
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  env.localModelPath = `${path.join(root, 'public/models')}/`;
  env.useBrowserCache = false;
  const processor = await AutoProcessor.from_pretrained(DEMO_MODEL);
  const model = await Idefics3ForConditionalGeneration.from_pretrained(DEMO_MODEL, {
    dtype: 'fp32',
  });
  const toIds = (t: Tensor) => Array.from(t.data as BigInt64Array, Number);
  return {
    processor,
    model,
    async prompt(imageFile, question) {
      const image = await RawImage.read(imageFile);
      const text = imageQuestionPrompt(processor, question);
      const tensors = (await processor(text, [image])) as Record<string, Tensor>;
      return { inputIds: toIds(tensors.input_ids as Tensor), tensors };
    },
    async imageFeatures(inputs) {
      const encode = (
        model as unknown as { encode_image(x: object): Promise<Tensor> }
      ).encode_image.bind(model);
      const features = await encode({
        pixel_values: inputs.tensors.pixel_values,
        pixel_attention_mask: inputs.tensors.pixel_attention_mask,
      });
      const dim = features.dims.at(-1) as number;
      const data = Float32Array.from(features.data as Float32Array);
      return { data, shape: [data.length / dim, dim] };
    },
    async generate(inputs, rows, maxNewTokens, minNewTokens, temperature = 0) {
      const batched: Record<string, unknown> = {};
      for (const [k, t] of Object.entries(inputs.tensors)) {
        batched[k] = Array.isArray(t?.dims) && rows > 1 ? repeatRows(t, rows) : t;
      }
      const out = (await model.generate({
        ...batched,
        max_new_tokens: maxNewTokens,
        ...(minNewTokens ? { min_new_tokens: minNewTokens } : {}),
        ...(temperature > 0 ? { do_sample: true, temperature, top_k: 0 } : { do_sample: false }),
      })) as Tensor;
      const ids = toIds(out);
      const width = out.dims[1] as number;
      return Array.from({ length: rows }, (_, r) =>
        ids.slice(r * width + inputs.inputIds.length, (r + 1) * width),
      );
    },
    async dispose() {
      await model.dispose();
    },
  };
}
