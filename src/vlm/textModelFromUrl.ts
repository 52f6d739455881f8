// The text model alone from a model folder served over HTTP (config.json, then model.safetensors
// by Range requests): for the engine's tests and benchmarks, which need no processor or vision
// encoder. Here, not in the engine, because the engine knows no network.
import type { Device } from '@jax-js/jax';
import type { TextModel, WeightFormat } from '../engine';
import { loadTextModel } from '../engine';
import { httpRangeReader } from '../net/httpRangeReader';

export async function loadTextModelFromUrl(
  modelUrl: string,
  opts: { device?: Device; fetchFn?: typeof fetch; format?: WeightFormat } = {},
): Promise<TextModel> {
  const fetchFn = opts.fetchFn ?? fetch;
  const base = modelUrl.replace(/\/$/, '');
  const response = await fetchFn(`${base}/config.json`);
  if (!response.ok) throw new Error(`${base}/config.json: HTTP ${response.status}`);
  const hubConfig = (await response.json()) as Record<string, unknown>;
  return loadTextModel(hubConfig, httpRangeReader(`${base}/model.safetensors`, fetchFn), opts);
}
