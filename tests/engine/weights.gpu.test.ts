// Weights come from model.safetensors by HTTP Range requests: only the header and the text
// model's tensors are fetched (a real VLM's vision tower is most of its file), and F16 / BF16
// checkpoints decode to the same float32 values as the file holds.
import { readFileSync } from 'node:fs';
import { defaultDevice, init, type numpy as np } from '@jax-js/jax';
import { Float16Array } from '@petamoriken/float16';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TextModel } from '../../src/engine/model';
import { disposeModel } from '../../src/engine/model';
import { parseSafetensorsHeader, readHeaderLength } from '../../src/formats/safetensors';
import { loadTextModelFromUrl } from '../../src/vlm/textModelFromUrl';
import { type RangeServer, serveBytes } from '../../tools/lib/serve-files';
import { host } from './helpers';

const DEMO = new URL('../../public/models/ttrv-demo-shapes/', import.meta.url);
const demoConfig = readFileSync(new URL('config.json', DEMO));
const demoWeights = readFileSync(new URL('model.safetensors', DEMO));

type Span = [begin: number, end: number];

/** Every tensor of a safetensors file with the [begin, end) of its bytes in the file. */
function tensorsOf(file: Uint8Array): { name: string; shape: number[]; span: Span }[] {
  const headerLength = readHeaderLength(file.subarray(0, 8));
  const header = parseSafetensorsHeader(file.subarray(8, 8 + headerLength), file.length);
  const dataStart = 8 + headerLength;
  return header.tensors.map((t) => ({
    name: t.name,
    shape: t.shape,
    span: [dataStart + t.begin, dataStart + t.end],
  }));
}

/** The float32 values of one tensor of a safetensors file. */
function float32Tensor(file: Uint8Array, [begin, end]: Span): Float32Array {
  return new Float32Array(new Uint8Array(file.subarray(begin, end)).buffer);
}

/** 2-byte encodings of `values`: F16 rounds to nearest, BF16 truncates (either is fine: the test
 * compares with what the file stores, decoded independently of the engine). */
function encodeHalf(values: Float32Array, dtype: 'F16' | 'BF16'): Uint16Array {
  if (dtype === 'F16') return new Uint16Array(new Float16Array(values).buffer);
  return Uint16Array.from(new Uint32Array(values.buffer), (bits) => bits >>> 16);
}

/** The floats 2-byte encodings stand for. */
function decodeHalf(bits: Uint16Array, dtype: 'F16' | 'BF16'): Float32Array {
  if (dtype === 'F16') return Float32Array.from(new Float16Array(bits.buffer));
  return new Float32Array(Uint32Array.from(bits, (b) => b << 16).buffer);
}

/** The demo checkpoint re-encoded with every tensor in `dtype`. */
function reencode(file: Uint8Array, dtype: 'F16' | 'BF16'): Uint8Array {
  const json: Record<string, unknown> = {};
  const parts: Uint16Array[] = [];
  let offset = 0;
  for (const { name, shape, span } of tensorsOf(file)) {
    const encoded = encodeHalf(float32Tensor(file, span), dtype);
    json[name] = { dtype, shape, data_offsets: [offset, offset + 2 * encoded.length] };
    offset += 2 * encoded.length;
    parts.push(encoded);
  }
  const header = new TextEncoder().encode(JSON.stringify(json));
  const out = new Uint8Array(8 + header.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  let position = 8 + header.length;
  for (const part of parts) {
    out.set(new Uint8Array(part.buffer), position);
    position += part.byteLength;
  }
  return out;
}

function serveModel(weights: Uint8Array): Promise<RangeServer> {
  return serveBytes({ '/m/config.json': demoConfig, '/m/model.safetensors': weights });
}

describe('text-model weights over HTTP Range requests (Wasm)', () => {
  const models: TextModel[] = [];

  beforeAll(async () => {
    await init('wasm');
    defaultDevice('wasm');
  });
  afterAll(() => {
    for (const model of models) disposeModel(model);
  });

  it('fetches the header and the text tensors only, never the vision tower or connector', async () => {
    const server = await serveModel(demoWeights);
    try {
      models.push(await loadTextModelFromUrl(`${server.url}/m`));
      const fetched = server.requests.filter((r) => r.path === '/m/model.safetensors');
      const overlaps = ([begin, end]: Span) => fetched.some((r) => r.start < end && begin < r.end);
      const isText = (name: string) =>
        name.startsWith('model.text_model.') || name === 'lm_head.weight';
      const tensors = tensorsOf(demoWeights);
      const vision = tensors.filter((t) => !isText(t.name));
      const text = tensors.filter((t) => isText(t.name));
      expect(vision.length).toBeGreaterThan(20);
      expect(vision.filter((t) => overlaps(t.span)).map((t) => t.name)).toEqual([]);
      expect(text.filter((t) => !overlaps(t.span)).map((t) => t.name)).toEqual([]);
      // Nothing else either: the header, then exactly the text tensors' bytes.
      const textBytes = text.reduce((sum, { span: [begin, end] }) => sum + end - begin, 0);
      const fetchedBytes = fetched.reduce((sum, r) => sum + r.end - r.start, 0);
      const headerBytes = 8 + readHeaderLength(demoWeights.subarray(0, 8));
      expect(fetchedBytes).toBe(headerBytes + textBytes);
    } finally {
      await server.close();
    }
  });

  for (const dtype of ['F16', 'BF16'] as const) {
    it(`decodes a ${dtype} checkpoint to the values it stores`, async () => {
      const file = reencode(demoWeights, dtype);
      const server = await serveModel(file);
      try {
        const model = await loadTextModelFromUrl(`${server.url}/m`);
        models.push(model);
        // lm_head holds values of every magnitude the model uses; its expected values are the
        // 2-byte encodings read back, computed here independently of the engine's decoder.
        const lmHead = tensorsOf(demoWeights).find((t) => t.name === 'lm_head.weight');
        const original = float32Tensor(demoWeights, lmHead?.span as Span);
        const expected = Array.from(decodeHalf(encodeHalf(original, dtype), dtype));
        const loaded = await host(model.weights.lmHead as np.Array);
        expect(loaded.length).toBe(expected.length);
        expect(Array.from(loaded)).toEqual(expected);
        // The 2-byte encoding lost precision, so this would fail against the float32 original.
        expect(Array.from(loaded)).not.toEqual(Array.from(original, Number));
      } finally {
        await server.close();
      }
    });
  }
});
