// The frozen text-model weights: from a model.safetensors fetched with HTTP Range requests (only
// the text model's tensors, never the vision tower's), or random for tests.
import type { Device } from '@jax-js/jax';
import { numpy as np, random } from '@jax-js/jax';
import type { TensorInfo } from '../formats/safetensors';
import {
  decodeTensorToFloat32,
  parseSafetensorsHeader,
  readHeaderLength,
} from '../formats/safetensors';
import type { TextConfig } from './config';
import { parseTextConfig } from './config';
import type { DecoderWeights, LayerWeights } from './decoder';
import { projectionShape } from './lora';
import type { TextModel } from './model';

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

/** Reads bytes [start, end) of a file; `totalBytes`, when known, lets the header be fully validated. */
export type RangeReader = ((start: number, end: number) => Promise<Uint8Array>) & {
  totalBytes?: () => number | undefined;
};

/** A RangeReader over HTTP Range requests; a server that ignores Range is an error, not a download. */
export function httpRangeReader(url: string, fetchFn: typeof fetch = fetch): RangeReader {
  let total: number | undefined;
  const read: RangeReader = async (start, end) => {
    const response = await fetchFn(url, { headers: { Range: `bytes=${start}-${end - 1}` } });
    if (response.status !== 206) {
      throw new Error(
        `${url}: expected 206 Partial Content for a Range request, got ${response.status}`,
      );
    }
    const size = response.headers.get('Content-Range')?.match(/\/(\d+)$/)?.[1];
    if (size) total = Number(size);
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length !== end - start) {
      throw new Error(`${url}: asked for ${end - start} bytes at ${start}, got ${bytes.length}`);
    }
    return bytes;
  };
  read.totalBytes = () => total;
  return read;
}

/** Where the language model sits in a checkpoint: SmolVLM / Idefics3, newer VLMs, bare decoders. */
const TEXT_PREFIXES = ['model.text_model.', 'model.language_model.', 'model.'];

/** The checkpoint names of every text-model tensor, by role. */
function textTensorNames(config: TextConfig, prefix: string) {
  const layer = (l: number) => {
    const p = `${prefix}layers.${l}.`;
    const names: Record<string, string> = {
      inputNorm: `${p}input_layernorm.weight`,
      postNorm: `${p}post_attention_layernorm.weight`,
    };
    for (const proj of ['q', 'k', 'v', 'o'] as const)
      names[proj] = `${p}self_attn.${proj}_proj.weight`;
    for (const proj of ['gate', 'up', 'down'] as const) names[proj] = `${p}mlp.${proj}_proj.weight`;
    if (config.attentionBias) {
      for (const proj of ['q', 'k', 'v'] as const)
        names[`${proj}Bias`] = `${p}self_attn.${proj}_proj.bias`;
    }
    return names;
  };
  return {
    embed: `${prefix}embed_tokens.weight`,
    norm: `${prefix}norm.weight`,
    lmHead: config.tieWordEmbeddings ? null : 'lm_head.weight',
    layers: Array.from({ length: config.numLayers }, (_, l) => layer(l)),
  };
}

/** Byte ranges covering `tensors` (sorted by offset), merging only touching neighbours. */
function contiguousRanges(
  tensors: TensorInfo[],
): { begin: number; end: number; tensors: TensorInfo[] }[] {
  const ranges: { begin: number; end: number; tensors: TensorInfo[] }[] = [];
  for (const t of [...tensors].sort((a, b) => a.begin - b.begin)) {
    const last = ranges.at(-1);
    if (last && last.end === t.begin) {
      last.end = t.end;
      last.tensors.push(t);
    } else {
      ranges.push({ begin: t.begin, end: t.end, tensors: [t] });
    }
  }
  return ranges;
}

/**
 * The text model of a Hub checkpoint: reads and validates the safetensors header, then fetches
 * only the text model's tensors (never the vision tower's), decodes F32 / F16 / BF16 to float32
 * and places them on `device` (default: the default device).
 */
export async function loadTextModel(
  hubConfig: Record<string, unknown>,
  read: RangeReader,
  opts: { device?: Device } = {},
): Promise<TextModel> {
  const config = parseTextConfig(hubConfig);
  const headerLength = readHeaderLength(await read(0, 8));
  const header = parseSafetensorsHeader(await read(8, 8 + headerLength), read.totalBytes?.());
  const dataStart = 8 + headerLength;
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  const prefix = TEXT_PREFIXES.find((p) => byName.has(`${p}embed_tokens.weight`));
  if (prefix === undefined)
    throw new Error('checkpoint has no text model (no embed_tokens.weight)');
  const names = textTensorNames(config, prefix);
  const wanted = [names.embed, names.norm, ...(names.lmHead ? [names.lmHead] : [])];
  for (const layer of names.layers) wanted.push(...Object.values(layer));
  const infos = wanted.map((name) => {
    const info = byName.get(name);
    if (!info) throw new Error(`checkpoint is missing ${name}`);
    return info;
  });
  const arrays = new Map<string, np.Array>();
  for (const range of contiguousRanges(infos)) {
    const bytes = await read(dataStart + range.begin, dataStart + range.end);
    for (const t of range.tensors) {
      const data = decodeTensorToFloat32(
        t.dtype,
        bytes.subarray(t.begin - range.begin, t.end - range.begin),
      );
      arrays.set(t.name, np.array(data, { device: opts.device }).reshape(t.shape));
    }
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
  return { config, weights, textPrefix: prefix };
}

/** config.json and model.safetensors of a model folder served over HTTP (Range requests). */
export async function loadTextModelFromUrl(
  modelUrl: string,
  opts: { device?: Device; fetchFn?: typeof fetch } = {},
): Promise<TextModel> {
  const fetchFn = opts.fetchFn ?? fetch;
  const base = modelUrl.replace(/\/$/, '');
  const response = await fetchFn(`${base}/config.json`);
  if (!response.ok) throw new Error(`${base}/config.json: HTTP ${response.status}`);
  const hubConfig = (await response.json()) as Record<string, unknown>;
  return loadTextModel(hubConfig, httpRangeReader(`${base}/model.safetensors`, fetchFn), opts);
}
