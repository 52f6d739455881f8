import { describe, expect, it } from 'vitest';
import {
  decodeTensorToFloat32,
  type Float32Tensor,
  MAX_HEADER_BYTES,
  parseSafetensors,
  parseSafetensorsHeader,
  readHeaderLength,
  SafetensorsError,
  serializeSafetensors,
} from '../../src/formats/safetensors';

// A file laid out by hand: u64 little-endian header length N, N bytes of header text, then data.
function file(header: string, data: readonly number[] = [], declaredLength?: number): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

// One header entry, as the crate writes it.
function entry(dtype: string, shape: readonly number[], begin: number, end: number): string {
  return `{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${begin},${end}]}`;
}

/** The error fn throws; fails the test if it throws nothing or something other than SafetensorsError. */
function safetensorsError(fn: () => unknown): SafetensorsError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SafetensorsError);
    return error as SafetensorsError;
  }
  throw new Error('expected a SafetensorsError, nothing was thrown');
}

const zeros = (n: number): number[] => new Array<number>(n).fill(0);

describe('serializeSafetensors', () => {
  it('writes the exact layout the crate writes: __metadata__ first, header space-padded to 8', () => {
    const bytes = serializeSafetensors(
      [{ name: 'w', dtype: 'F32', shape: [2], data: new Float32Array([1, -2]) }],
      { format: 'pt' },
    );
    const json =
      '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    // The JSON is 85 bytes; padded to ceil(85 / 8) * 8 = 88, i.e. 3 spaces.
    expect(json.length).toBe(85);
    // 8 (length) + 88 (header) + 2 × 4 (data) = 104 bytes.
    expect(bytes.length).toBe(104);
    expect(new DataView(bytes.buffer).getBigUint64(0, true)).toBe(88n);
    expect(new TextDecoder().decode(bytes.subarray(8, 96))).toBe(`${json}   `);
    // 1.0f = 0x3F800000, -2.0f = 0xC0000000, little-endian.
    expect([...bytes.subarray(96)]).toEqual([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]);
  });

  it('round-trips names, shapes, metadata and data through parseSafetensors', () => {
    const b = new Float32Array([0.5, -1.25, 3e-8, 65504, -0, 7]);
    const a = new Float32Array([Math.PI]);
    const c = new Float32Array(0);
    const bytes = serializeSafetensors(
      [
        { name: 'layer.b', dtype: 'F32', shape: [2, 3], data: b },
        { name: 'layer.a', dtype: 'F32', shape: [], data: a },
        { name: 'layer.c', dtype: 'F32', shape: [0, 4], data: c },
      ],
      { format: 'pt', note: 'ünïcode ✓' },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(headerText.startsWith('{"__metadata__":')).toBe(true);
    expect(headerText).toMatch(/} *$/);

    const parsed = parseSafetensors(bytes);
    expect(parsed.metadata).toEqual({ format: 'pt', note: 'ünïcode ✓' });
    // Written (and returned in file order) sorted by name: a (4 bytes), b (24 bytes), c (0 bytes).
    expect(parsed.tensors.map((t) => [t.name, t.dtype, t.shape, t.begin, t.end])).toEqual([
      ['layer.a', 'F32', [], 0, 4],
      ['layer.b', 'F32', [2, 3], 4, 28],
      ['layer.c', 'F32', [0, 4], 28, 28],
    ]);
    const decoded = parsed.tensors.map((t) => decodeTensorToFloat32(t.dtype, t.data));
    expect(decoded[0]).toEqual(a);
    expect(decoded[1]).toEqual(b);
    expect(Object.is(decoded[1]?.[4], -0)).toBe(true);
    expect(decoded[2]).toEqual(c);
  });

  it('omits __metadata__ without metadata, and still pads', () => {
    // {"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} is 54 bytes → 56, 2 spaces.
    const bytes = serializeSafetensors([
      { name: 'a', dtype: 'F32', shape: [1], data: new Float32Array([1]) },
    ]);
    expect(new DataView(bytes.buffer).getBigUint64(0, true)).toBe(56n);
    expect(new TextDecoder().decode(bytes.subarray(8, 64))).toBe(
      `{"a":${entry('F32', [1], 0, 4)}}  `,
    );
    expect(bytes.length).toBe(8 + 56 + 4);
    expect(parseSafetensors(bytes).metadata).toEqual({});
  });

  it('refuses a shape that disagrees with the data and a repeated name', () => {
    expect(
      safetensorsError(() =>
        serializeSafetensors([
          { name: 'x', dtype: 'F32', shape: [2, 2], data: new Float32Array(3) },
        ]),
      ).message,
    ).toBe('tensor "x" has shape [2, 2] (4 elements) but 3 values');
    const one: Float32Tensor = { name: 'x', dtype: 'F32', shape: [1], data: new Float32Array(1) };
    expect(safetensorsError(() => serializeSafetensors([one, one])).message).toMatch(
      /two tensors named "x"/,
    );
    const meta: Float32Tensor = {
      name: '__metadata__',
      dtype: 'F32',
      shape: [1],
      data: new Float32Array(1),
    };
    expect(safetensorsError(() => serializeSafetensors([meta])).message).toMatch(
      /two tensors named "__metadata__"/,
    );
  });
  it('writes tensors named like Object.prototype members', () => {
    const names = ['__proto__', 'constructor', 'toString'];
    const bytes = serializeSafetensors(
      names.map((name, i) => ({ name, dtype: 'F32', shape: [1], data: new Float32Array([i]) })),
    );
    const parsed = parseSafetensors(bytes);
    expect(parsed.tensors.map((t) => [t.name, t.begin])).toEqual([
      ['__proto__', 0],
      ['constructor', 4],
      ['toString', 8],
    ]);
    expect(parsed.tensors.map((t) => decodeTensorToFloat32(t.dtype, t.data)[0])).toEqual([0, 1, 2]);
  });
});

describe('parseSafetensors of hand-made files', () => {
  it('accepts every dtype size of the crate, packed back to back', () => {
    // I64 [1] = 8 bytes at 0–8, BF16 [3] = 6 at 8–14, U8 [2] = 2 at 14–16, BOOL [1] = 1 at 16–17,
    // F8_E4M3 [1] = 1 at 17–18, F64 [1] = 8 at 18–26, I16 [2] = 4 at 26–30.
    const header =
      `{"q":${entry('I64', [1], 0, 8)},"w":${entry('BF16', [3], 8, 14)},` +
      `"e":${entry('U8', [2], 14, 16)},"r":${entry('BOOL', [1], 16, 17)},` +
      `"t":${entry('F8_E4M3', [1], 17, 18)},"y":${entry('F64', [1], 18, 26)},` +
      `"u":${entry('I16', [2], 26, 30)}}`;
    const data = Array.from({ length: 30 }, (_, i) => i);
    const parsed = parseSafetensors(file(header, data));
    // Returned in file order, whatever the JSON order.
    expect(parsed.tensors.map((t) => t.name)).toEqual(['q', 'w', 'e', 'r', 't', 'y', 'u']);
    const w = parsed.tensors[1];
    expect([...(w?.data ?? [])]).toEqual([8, 9, 10, 11, 12, 13]);
    expect([...(parsed.tensors[6]?.data ?? [])]).toEqual([26, 27, 28, 29]);
  });

  it('reads "__metadata__": null as no metadata, and rejects non-string values', () => {
    expect(parseSafetensors(file('{"__metadata__":null}')).metadata).toEqual({});
    expect(safetensorsError(() => parseSafetensors(file('{"__metadata__":{"n":1}}'))).message).toBe(
      '"__metadata__" must map strings to strings',
    );
  });

  it('rejects a file shorter than the 8-byte header length', () => {
    expect(safetensorsError(() => parseSafetensors(new Uint8Array(5))).message).toBe(
      'not a safetensors file: 5 bytes, fewer than the 8-byte header length',
    );
  });

  it('rejects a header length that runs past the end of the file', () => {
    // Declares N = 100 but holds 8 + 10 = 18 bytes.
    const bytes = file('{"a":1234}', [], 100);
    expect(bytes.length).toBe(18);
    expect(safetensorsError(() => parseSafetensors(bytes)).message).toBe(
      'header length 100 bytes goes beyond the end of the file (18 bytes): the file is truncated',
    );
  });

  it('rejects a declared header over 100 MB before looking any further', () => {
    // 100_000_001 = 0x05F5E101 → bytes 01 E1 F5 05 00 00 00 00.
    const first8 = new Uint8Array([0x01, 0xe1, 0xf5, 0x05, 0, 0, 0, 0]);
    expect(safetensorsError(() => parseSafetensors(first8)).message).toBe(
      'header length 100000001 bytes exceeds the 100 MB limit: the file is corrupt or not safetensors',
    );
    // 2^64 − 1 must not wrap or lose precision on the way to the message.
    expect(safetensorsError(() => readHeaderLength(new Uint8Array(8).fill(0xff))).message).toMatch(
      /^header length 18446744073709551615 bytes exceeds the 100 MB limit/,
    );
    // The limit itself is allowed: 100_000_000 = 0x05F5E100.
    expect(readHeaderLength(new Uint8Array([0x00, 0xe1, 0xf5, 0x05, 0, 0, 0, 0]))).toBe(
      MAX_HEADER_BYTES,
    );
  });

  it('reads the header length from an unaligned view', () => {
    // Byte 0 is padding; the u64 at 1..9 is 0x0102 = 258.
    const buffer = new Uint8Array([0xaa, 0x02, 0x01, 0, 0, 0, 0, 0, 0]);
    expect(readHeaderLength(buffer.subarray(1))).toBe(258);
  });

  it('rejects a header over 100 MB handed to parseSafetensorsHeader', () => {
    const header = new Uint8Array(MAX_HEADER_BYTES + 1);
    expect(safetensorsError(() => parseSafetensorsHeader(header)).message).toBe(
      'header of 100000001 bytes exceeds the 100 MB limit',
    );
  });

  it('rejects a data section shorter than the tensors (truncated) and one longer', () => {
    // a needs F32 [2] = 8 bytes but only 4 follow the header.
    const header = `{"a":${entry('F32', [2], 0, 8)}}`;
    expect(safetensorsError(() => parseSafetensors(file(header, zeros(4)))).message).toBe(
      'data section is 4 bytes but the tensors cover 8: the file is truncated',
    );
    expect(safetensorsError(() => parseSafetensors(file(header, zeros(9)))).message).toBe(
      'data section is 9 bytes but the tensors cover 8: the file has trailing bytes',
    );
    expect(parseSafetensors(file(header, zeros(8))).tensors).toHaveLength(1);
  });

  it('rejects a hole between tensors, naming the tensor after it', () => {
    // a covers 0–4, b starts at 8: bytes 4–8 belong to no tensor. Data is 12 bytes.
    const header = `{"a":${entry('F32', [1], 0, 4)},"b":${entry('F32', [1], 8, 12)}}`;
    expect(safetensorsError(() => parseSafetensors(file(header, zeros(12)))).message).toBe(
      'tensor "b" has data_offsets [8, 12]: bytes 4–8 before it belong to no tensor (a hole)',
    );
  });

  it('rejects a hole at the start of the data section', () => {
    const header = `{"a":${entry('F32', [1], 4, 8)}}`;
    expect(safetensorsError(() => parseSafetensors(file(header, zeros(8)))).message).toMatch(
      /^tensor "a" has data_offsets \[4, 8\]: bytes 0–4 before it/,
    );
  });

  it('rejects overlapping offsets', () => {
    // a covers 0–8, b 4–12: b's first 4 bytes are also a's last 4.
    const header = `{"a":${entry('F32', [2], 0, 8)},"b":${entry('F32', [2], 4, 12)}}`;
    expect(safetensorsError(() => parseSafetensors(file(header, zeros(12)))).message).toBe(
      'tensor "b" has data_offsets [4, 12]: it overlaps the previous tensor, which ends at 8',
    );
  });

  it('rejects a byte count other than shape × dtype size', () => {
    // F32 [2, 3] needs 2 × 3 × 4 = 24 bytes, the offsets give 20.
    const header = `{"a":${entry('F32', [2, 3], 0, 20)}}`;
    expect(safetensorsError(() => parseSafetensors(file(header, zeros(20)))).message).toBe(
      'tensor "a" has data_offsets [0, 20], 20 bytes, but shape [2, 3] of F32 needs 24 bytes',
    );
    // BF16 [3] needs 3 × 2 = 6 bytes; 12 (as if F32) is wrong.
    const bf16 = `{"h":${entry('BF16', [3], 0, 12)}}`;
    expect(safetensorsError(() => parseSafetensors(file(bf16, zeros(12)))).message).toMatch(
      /^tensor "h" .* shape \[3\] of BF16 needs 6 bytes$/,
    );
  });

  it('rejects a shape whose byte count is not a safe integer', () => {
    const header = `{"a":${entry('F64', [2 ** 26, 2 ** 26, 2 ** 26], 0, 8)}}`;
    expect(safetensorsError(() => parseSafetensors(file(header, zeros(8)))).message).toMatch(
      /^tensor "a": shape \[67108864, 67108864, 67108864\] is impossibly large$/,
    );
  });

  it('rejects a repeated key, which JSON.parse would silently collapse', () => {
    // Both entries are valid alone; JSON.parse keeps the second and the file would look fine.
    const header = `{"a":${entry('F32', [1], 0, 4)},"a":${entry('F32', [1], 0, 4)}}`;
    expect(safetensorsError(() => parseSafetensors(file(header, zeros(4)))).message).toBe(
      'header repeats the key "a"',
    );
    // Spelled differently in the JSON text, the same key.
    const escaped = `{"a":${entry('F32', [1], 0, 4)},"\\u0061":${entry('F32', [1], 0, 4)}}`;
    expect(safetensorsError(() => parseSafetensors(file(escaped, zeros(4)))).message).toBe(
      'header repeats the key "a"',
    );
    const inner = '{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}';
    expect(safetensorsError(() => parseSafetensors(file(inner, zeros(4)))).message).toBe(
      'header repeats the key "dtype" inside an entry',
    );
  });

  it('does not mistake the same field in different entries, or colons in names, for repeats', () => {
    const header = `{"x:\\"y":${entry('F32', [1], 0, 4)},"b":${entry('F32', [1], 4, 8)}}`;
    const names = parseSafetensors(file(header, zeros(8))).tensors.map((t) => t.name);
    expect(names).toEqual(['x:"y', 'b']);
  });

  it('rejects an unknown dtype, naming the tensor', () => {
    const header = `{"w":${entry('F4', [2], 0, 1)}}`;
    const message = safetensorsError(() => parseSafetensors(file(header, zeros(1)))).message;
    expect(message).toMatch(/^tensor "w": unknown or unsupported dtype "F4" \(known: F64 F32 /);
  });

  it('rejects malformed entries: shapes, offsets, non-objects', () => {
    const cases: [string, RegExp][] = [
      [`{"a":${entry('F32', [-1], 0, 4)}}`, /^tensor "a": shape must be a list of non-negative/],
      [`{"a":${entry('F32', [1.5], 0, 4)}}`, /^tensor "a": shape must be .* got \[1\.5\]$/],
      [`{"a":${entry('F32', [1], 4, 0)}}`, /^tensor "a": data_offsets must be .* got \[4,0\]$/],
      ['{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', /^tensor "a": data_offsets/],
      ['{"a":[1]}', /^tensor "a": entry must be an object/],
      ['[]', /^header must be a JSON object$/],
    ];
    for (const [header, pattern] of cases) {
      expect(safetensorsError(() => parseSafetensors(file(header, zeros(4)))).message).toMatch(
        pattern,
      );
    }
  });

  it('rejects a header that is not JSON or not UTF-8', () => {
    expect(safetensorsError(() => parseSafetensors(file('{"a":'))).message).toMatch(
      /^header is not valid JSON: /,
    );
    const notUtf8 = file('{"a"}');
    notUtf8[9] = 0xff; // the opening quote → a byte that is never UTF-8
    expect(safetensorsError(() => parseSafetensors(notUtf8)).message).toBe(
      'header is not valid UTF-8',
    );
  });

  it('checks the header alone when the file size is unknown', () => {
    // A header read ahead of its data (streaming): the data section is not checked…
    const json = new TextEncoder().encode(`{"a":${entry('F16', [2, 2], 0, 8)}}`);
    expect(parseSafetensorsHeader(json).tensors).toEqual([
      { name: 'a', dtype: 'F16', shape: [2, 2], begin: 0, end: 8 },
    ]);
    // …but with the size it is: 8 + header + 8 bytes of data, 1 short.
    expect(
      safetensorsError(() => parseSafetensorsHeader(json, 8 + json.length + 7)).message,
    ).toMatch(/the file is truncated$/);
    expect(
      safetensorsError(() => parseSafetensorsHeader(json, 8 + json.length - 1)).message,
    ).toMatch(/^header length \d+ bytes goes beyond the end of the file/);
  });

  it('gives views into the file, at any byte offset', () => {
    // U8 [1] at 0–1, then F32 [2] at 1–9. The 106-byte header is padded to 112, so the data
    // section starts at 8 + 112 = 120 and the floats at 121: not a multiple of 4.
    const header = `{"b":${entry('U8', [1], 0, 1)},"f":${entry('F32', [2], 1, 9)}}`;
    expect(header.length).toBe(106);
    const padded = header.padEnd(112, ' ');
    // 1.5f = 0x3FC00000, -4.0f = 0xC0800000.
    const bytes = file(padded, [0x07, 0, 0, 0xc0, 0x3f, 0, 0, 0x80, 0xc0]);
    const [b, f] = parseSafetensors(bytes).tensors;
    expect(b?.data[0]).toBe(7);
    expect(f?.data.buffer).toBe(bytes.buffer);
    expect(f?.data.byteOffset).toBe(121);
    expect(decodeTensorToFloat32('F32', f?.data ?? new Uint8Array())).toEqual(
      new Float32Array([1.5, -4]),
    );
  });
});

describe('decodeTensorToFloat32', () => {
  // Little-endian u16s → bytes.
  const u16 = (...values: number[]): Uint8Array =>
    new Uint8Array(values.flatMap((v) => [v & 0xff, v >> 8]));

  it('decodes F16 bit patterns', () => {
    const out = decodeTensorToFloat32(
      'F16',
      u16(0x3c00, 0xc000, 0x3555, 0x7bff, 0x0400, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x7e00),
    );
    expect([...out]).toEqual([
      1, // 0 01111 0000000000: 2^(15−15)
      -2, // 1 10000 0000000000: −2^(16−15)
      0.333251953125, // 0 01101 0101010101: (1 + 341/1024) × 2^−2
      65504, // 0 11110 1111111111: largest finite, (2 − 2^−10) × 2^15
      2 ** -14, // 0 00001 0000000000: smallest normal
      2 ** -24, // 0 00000 0000000001: smallest subnormal, 1 × 2^−24
      -0,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
    ]);
    expect(Object.is(out[6], -0)).toBe(true);
  });

  it('decodes BF16 as the top half of a float32', () => {
    const out = decodeTensorToFloat32('BF16', u16(0x3f80, 0xc000, 0x4049, 0x7f80, 0xff80, 0x0001));
    expect([...out]).toEqual([
      1, // 0x3F800000
      -2, // 0xC0000000
      3.140625, // 0x40490000: (1 + 0x49/128) × 2
      Number.POSITIVE_INFINITY, // 0x7F800000
      Number.NEGATIVE_INFINITY, // 0xFF800000
      2 ** -133, // 0x00010000: subnormal, 2^16 × 2^−149
    ]);
  });

  it('decodes F16 and BF16 at an odd byte offset', () => {
    // 0x3C00 → 00 3C after one padding byte.
    const buffer = new Uint8Array([0xee, 0x00, 0x3c, 0x00, 0xc0]);
    expect([...decodeTensorToFloat32('F16', buffer.subarray(1))]).toEqual([1, -2]);
    const bf = new Uint8Array([0xee, 0x80, 0x3f, 0x00, 0xc0]);
    expect([...decodeTensorToFloat32('BF16', bf.subarray(1))]).toEqual([1, -2]);
  });

  it('returns a copy, not a view of the file', () => {
    const bytes = new Uint8Array([0, 0, 0x80, 0x3f]);
    const out = decodeTensorToFloat32('F32', bytes);
    bytes[3] = 0;
    expect(out[0]).toBe(1);
  });

  it('rejects a partial element and dtypes it cannot decode', () => {
    expect(safetensorsError(() => decodeTensorToFloat32('F16', new Uint8Array(3))).message).toBe(
      '3 bytes is not a whole number of F16 elements (2 bytes each)',
    );
    expect(safetensorsError(() => decodeTensorToFloat32('U8', new Uint8Array(2))).message).toBe(
      'cannot decode U8 to float32: only F32, F16 and BF16',
    );
  });
});
