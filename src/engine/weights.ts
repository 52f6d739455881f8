// The frozen text-model weights: from a model.safetensors read in byte ranges (only the text
// model's tensors, never the vision tower's; where the bytes come from is the caller's: HTTP is
// src/net's), or random for tests.
import type { Device } from '@jax-js/jax';
import { numpy as np, random } from '@jax-js/jax';
import type { RangeReader, TensorInfo } from '../formats/safetensors';
import {
  decodeTensorToFloat32,
  parseSafetensorsHeader,
  readHeaderLength,
} from '../formats/safetensors';
import type { TextConfig } from '../layout/textConfig';
import { parseTextConfig } from '../layout/textConfig';
import {
  checkpointNames,
  findTextPrefix,
  PROJECTIONS,
  projectionShape,
  TEXT_PREFIXES,
  type TextPrefix,
} from '../layout/textLayout';
import type { DecoderWeights, LayerWeights } from './decoder';
import type { TextModel } from './model';
import type { Weight, WeightFormat } from './quant';
import {
  isQuantized,
  quantizedToDevice,
  quantizeHost,
  storedBytes,
  tableFormat,
  WEIGHT_FORMATS,
} from './quant';

/**
 * Random weights with the given shapes (normal · std, norms around 1) on the default device: a
 * stand-in model for tests. Deterministic in `seed`.
 */
export function randomWeights(
  config: TextConfig,
  seed: number,
  opts: { dtype?: np.DType; std?: number } = {},
): DecoderWeights {
  const std = opts.std ?? 0.1;
  const dtype = opts.dtype ?? np.float32;
  let key = random.key(seed);
  const draw = (shape: number[], scale = std, offset = 0): np.Array => {
    const [next, sub] = np.unstack(random.split(key, 2)) as [np.Array, np.Array];
    key = next;
    const x = random.normal(sub, shape).mul(scale).add(offset);
    return dtype === np.float32 ? x : x.astype(dtype);
  };
  const d = config.hiddenSize;
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const layer: LayerWeights = {
      inputNorm: draw([d], 0.1, 1),
      q: draw(projectionShape(config, 'q')),
      k: draw(projectionShape(config, 'k')),
      v: draw(projectionShape(config, 'v')),
      o: draw(projectionShape(config, 'o')),
      postNorm: draw([d], 0.1, 1),
      gate: draw(projectionShape(config, 'gate')),
      up: draw(projectionShape(config, 'up')),
      down: draw(projectionShape(config, 'down')),
    };
    if (config.attentionBias) {
      layer.qBias = draw([projectionShape(config, 'q')[0]]);
      layer.kBias = draw([projectionShape(config, 'k')[0]]);
      layer.vBias = draw([projectionShape(config, 'v')[0]]);
    }
    layers.push(layer);
  }
  const weights: DecoderWeights = {
    embed: draw([config.vocabSize, d], 1),
    layers,
    norm: draw([d], 0.1, 1),
  };
  if (!config.tieWordEmbeddings) weights.lmHead = draw([config.vocabSize, d]);
  key.dispose();
  return weights;
}

/** How many bytes one read of the loader asks for at most (a larger tensor is one read). */
const READ_PIECE_BYTES = 16 * 2 ** 20;

/** Byte ranges covering `tensors` (sorted by offset), merging touching neighbours up to
 * READ_PIECE_BYTES: pieces small enough that the next one is read while this one is converted,
 * and that the loader never holds a whole checkpoint's bytes at once. */
function contiguousRanges(
  tensors: TensorInfo[],
): { begin: number; end: number; tensors: TensorInfo[] }[] {
  const ranges: { begin: number; end: number; tensors: TensorInfo[] }[] = [];
  for (const t of [...tensors].sort((a, b) => a.begin - b.begin)) {
    const last = ranges.at(-1);
    if (last && last.end === t.begin && t.end - last.begin <= READ_PIECE_BYTES) {
      last.end = t.end;
      last.tensors.push(t);
    } else {
      ranges.push({ begin: t.begin, end: t.end, tensors: [t] });
    }
  }
  return ranges;
}

/** The text model's tensors in a checkpoint, from its safetensors header. */
type TextTensors = {
  config: TextConfig;
  textPrefix: TextPrefix;
  names: ReturnType<typeof checkpointNames>;
  /** Where the tensors' bytes start in the file. */
  dataStart: number;
  infos: TensorInfo[];
};

async function readTextTensors(
  hubConfig: Record<string, unknown>,
  read: RangeReader,
): Promise<TextTensors> {
  const config = parseTextConfig(hubConfig);
  const headerLength = readHeaderLength(await read(0, 8));
  const header = parseSafetensorsHeader(await read(8, 8 + headerLength), read.totalBytes?.());
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  const textPrefix = findTextPrefix((name) => byName.has(name));
  if (textPrefix === undefined) {
    const embeddings = TEXT_PREFIXES.map((p) => `${p}embed_tokens.weight`).join(', ');
    throw new Error(
      `The checkpoint has no text model where the engine looks (none of ${embeddings}): pick a Llama-family model (llama, qwen2, mistral) or a VLM built on one, such as SmolVLM.`,
    );
  }
  const names = checkpointNames({ config, textPrefix });
  const wanted = [names.embed, names.norm, ...(names.lmHead ? [names.lmHead] : [])];
  for (const layer of names.layers) wanted.push(...Object.values(layer));
  const infos = wanted.map((name) => {
    const info = byName.get(name);
    if (!info) throw new Error(`checkpoint is missing ${name}`);
    return info;
  });
  return { config, textPrefix, names, dataStart: 8 + headerLength, infos };
}

/** The format each tensor is stored in on the device: the projections in `format`, the embedding
 * and lm_head in tableFormat(format) (GGUF's 4-bit mixes keep those in higher precision too);
 * anything else (the norms) float32. */
function storageFormats(names: TextTensors['names'], format: WeightFormat) {
  const stored = new Map<string, WeightFormat>();
  for (const layer of names.layers)
    for (const p of PROJECTIONS) stored.set(layer[p] as string, format);
  stored.set(names.embed, tableFormat(format));
  if (names.lmHead) stored.set(names.lmHead, tableFormat(format));
  return stored;
}

/** What loading a checkpoint's text model would take, read from its safetensors header alone
 * (a few kB): the bytes of its tensors in the file (the download) and, per weight format, the
 * bytes it would hold on the device and its largest single tensor there (which must fit one GPU
 * buffer binding). Equal to weightBytes() of the loaded model (tests/engine/weights-plan.gpu.test.ts). */
export type TextModelPlan = {
  fileBytes: number;
  deviceBytes: Record<WeightFormat, number>;
  largestTensorBytes: Record<WeightFormat, number>;
};

export async function planTextModel(
  hubConfig: Record<string, unknown>,
  read: RangeReader,
): Promise<TextModelPlan> {
  const { names, infos } = await readTextTensors(hubConfig, read);
  const deviceBytes = {} as Record<WeightFormat, number>;
  const largestTensorBytes = {} as Record<WeightFormat, number>;
  for (const format of WEIGHT_FORMATS) {
    const stored = storageFormats(names, format);
    const sizes = infos.map((t) => {
      const [rows, cols] = t.shape.length === 2 ? t.shape : [1, t.shape[0] ?? 1];
      return storedBytes(rows as number, cols as number, stored.get(t.name) ?? 'f32');
    });
    deviceBytes[format] = sizes.reduce((a, b) => a + b, 0);
    largestTensorBytes[format] = Math.max(...sizes);
  }
  const fileBytes = infos.reduce((sum, t) => sum + (t.end - t.begin), 0);
  return { fileBytes, deviceBytes, largestTensorBytes };
}

/**
 * Loads the text model's tensors (and only those) from a model.safetensors read in byte ranges,
 * decodes them to float32 (F32/F16/BF16), quantises the projections to `format` on the host as
 * they arrive (so no float32 copy of them ever reaches the device) and places them on `device`
 * (default: the default device).
 */
export async function loadTextModel(
  hubConfig: Record<string, unknown>,
  read: RangeReader,
  opts: {
    device?: Device;
    format?: WeightFormat;
    /** Filled in with where the time went: waiting for bytes, and converting them. */
    timings?: { readWaitMs: number; convertMs: number };
  } = {},
): Promise<TextModel> {
  const format = opts.format ?? 'f32';
  const timings = opts.timings ?? { readWaitMs: 0, convertMs: 0 };
  const { config, textPrefix, names, dataStart, infos } = await readTextTensors(hubConfig, read);
  // Quantised on the host as they arrive, so no float32 copy ever reaches the device.
  const stored = storageFormats(names, format);
  const arrays = new Map<string, Weight>();
  const convertRange = (range: { begin: number; tensors: TensorInfo[] }, bytes: Uint8Array) => {
    for (const t of range.tensors) {
      const data = decodeTensorToFloat32(
        t.dtype,
        bytes.subarray(t.begin - range.begin, t.end - range.begin),
      );
      const [rows, cols] = t.shape as [number, number];
      const as = stored.get(t.name) ?? 'f32';
      arrays.set(
        t.name,
        as === 'f32'
          ? np.array(data, { device: opts.device }).reshape(t.shape)
          : quantizedToDevice(quantizeHost(data, rows, cols, as), opts.device),
      );
    }
  };
  const ranges = contiguousRanges(infos);
  const readRange = (i: number) => {
    const range = ranges[i];
    return range ? read(dataStart + range.begin, dataStart + range.end) : null;
  };
  // One piece ahead: the next piece's bytes arrive while this one is converted.
  let next = readRange(0);
  // A read left behind by a failed conversion must not surface as an unhandled rejection.
  const dropNext = () => void next?.catch(() => {});
  for (const [i, range] of ranges.entries()) {
    const waitStarted = performance.now();
    const bytes = (await next) as Uint8Array;
    const convertStarted = performance.now();
    timings.readWaitMs += convertStarted - waitStarted;
    next = readRange(i + 1);
    try {
      convertRange(range, bytes);
    } catch (error) {
      dropNext();
      throw error;
    }
    timings.convertMs += performance.now() - convertStarted;
  }
  const take = (name: string) => arrays.get(name) as np.Array;
  const weights: DecoderWeights = {
    embed: take(names.embed),
    layers: names.layers.map((layer) => {
      const entries = Object.entries(layer).map(([role, name]) => [role, take(name)]);
      return Object.fromEntries(entries) as LayerWeights;
    }),
    norm: take(names.norm),
  };
  if (names.lmHead) weights.lmHead = take(names.lmHead);
  return { config, weights, textPrefix, format };
}

/** `weights` quantised as loadTextModel quantises a checkpoint (for models made on the device,
 * such as randomWeights); consumes the float32 arrays it replaces. */
export async function quantizeWeights(
  weights: DecoderWeights,
  format: WeightFormat,
): Promise<DecoderWeights> {
  if (format === 'f32') return weights;
  const quantize = async (w: Weight, to: 'q8' | 'q4') => {
    if (isQuantized(w)) throw new Error('the weights are quantised already');
    const [rows, cols] = w.shape as [number, number];
    const data = (await w.data()) as Float32Array;
    return quantizedToDevice(quantizeHost(data, rows, cols, to), w.device);
  };
  const layers: LayerWeights[] = [];
  for (const layer of weights.layers) {
    const quantized: LayerWeights = { ...layer };
    for (const p of PROJECTIONS) quantized[p] = await quantize(layer[p], format);
    layers.push(quantized);
  }
  const table = tableFormat(format) as 'q8';
  const out: DecoderWeights = { ...weights, layers, embed: await quantize(weights.embed, table) };
  if (weights.lmHead) out.lmHead = await quantize(weights.lmHead, table);
  return out;
}
