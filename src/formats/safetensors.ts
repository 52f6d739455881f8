// The safetensors format (github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, …,
// "__metadata__": {string: string}}, then the data section the offsets point into.
// Reading validates as the Rust crate does, so a file we accept is one Python accepts too.

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** The crate's limit; a larger declared header means a corrupt or hostile file. */
export const MAX_HEADER_BYTES = 100_000_000;

const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
} as const;
export type Dtype = keyof typeof DTYPE_BYTES;

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Byte offsets into the data section (after the header), end exclusive. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Sorted by begin, i.e. in file order. */
  tensors: TensorInfo[];
  metadata: Record<string, string>;
}

export interface TensorView extends TensorInfo {
  /** The tensor's bytes, a view into the file (no copy). */
  data: Uint8Array;
}

export interface SafetensorsFile {
  tensors: TensorView[];
  metadata: Record<string, string>;
}

/**
 * Reads bytes [start, end) of a file, wherever it is (memory, HTTP, a cache): a safetensors file
 * is read header first, then only the tensors wanted. `totalBytes`, when known, lets the header
 * be fully validated.
 */
export type RangeReader = ((start: number, end: number) => Promise<Uint8Array>) & {
  totalBytes?: () => number | undefined;
  /** Lets go of what the reader holds open (a response still arriving); the one who made the
   * reader calls it once the last read is done. */
  close?: () => void;
};

/** The header length from the file's first 8 bytes (u64, little-endian). */
export function readHeaderLength(first8: Uint8Array): number {
  if (first8.length < 8) {
    throw new SafetensorsError(
      `not a safetensors file: ${first8.length} bytes, fewer than the 8-byte header length`,
    );
  }
  const length = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      `header length ${length} bytes exceeds the 100 MB limit: the file is corrupt or not safetensors`,
    );
  }
  return Number(length);
}

/**
 * Parses and validates the header JSON. With totalFileBytes, also checks that the header fits
 * in the file and that the tensors cover the data section exactly (a shorter file is truncated,
 * a longer one has trailing bytes — the crate rejects both).
 */
export function parseSafetensorsHeader(
  headerJsonBytes: Uint8Array,
  totalFileBytes?: number,
): SafetensorsHeader {
  const headerBytes = headerJsonBytes.length;
  if (headerBytes > MAX_HEADER_BYTES) {
    throw new SafetensorsError(`header of ${headerBytes} bytes exceeds the 100 MB limit`);
  }
  if (totalFileBytes !== undefined) checkHeaderFits(headerBytes, totalFileBytes);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerJsonBytes);
  } catch {
    throw new SafetensorsError('header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SafetensorsError(`header is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(json)) throw new SafetensorsError('header must be a JSON object');
  const duplicate = findDuplicateKey(text);
  if (duplicate !== null) throw new SafetensorsError(`header repeats the key ${duplicate}`);

  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') metadata = readMetadata(entry);
    else tensors.push(readTensorInfo(name, entry));
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);

  let expectedBegin = 0;
  for (const tensor of tensors) {
    const where = `tensor "${tensor.name}" has data_offsets [${tensor.begin}, ${tensor.end}]`;
    if (tensor.begin > expectedBegin) {
      throw new SafetensorsError(
        `${where}: bytes ${expectedBegin}–${tensor.begin} before it belong to no tensor (a hole)`,
      );
    }
    if (tensor.begin < expectedBegin) {
      throw new SafetensorsError(
        `${where}: it overlaps the previous tensor, which ends at ${expectedBegin}`,
      );
    }
    const needed = tensorByteLength(tensor.dtype, tensor.shape, tensor.name);
    if (tensor.end - tensor.begin !== needed) {
      throw new SafetensorsError(
        `${where}, ${tensor.end - tensor.begin} bytes, but shape [${tensor.shape.join(', ')}] ` +
          `of ${tensor.dtype} needs ${needed} bytes`,
      );
    }
    expectedBegin = tensor.end;
  }
  if (totalFileBytes !== undefined) {
    const dataBytes = totalFileBytes - 8 - headerBytes;
    if (dataBytes !== expectedBegin) {
      throw new SafetensorsError(
        `data section is ${dataBytes} bytes but the tensors cover ${expectedBegin}` +
          (dataBytes < expectedBegin ? ': the file is truncated' : ': the file has trailing bytes'),
      );
    }
  }
  return { tensors, metadata };
}

/** A whole file: validated header plus a view of each tensor's bytes. */
export function parseSafetensors(bytes: Uint8Array): SafetensorsFile {
  const headerBytes = readHeaderLength(bytes);
  checkHeaderFits(headerBytes, bytes.length);
  const dataStart = 8 + headerBytes;
  const header = parseSafetensorsHeader(bytes.subarray(8, dataStart), bytes.length);
  return {
    metadata: header.metadata,
    tensors: header.tensors.map((tensor) => ({
      ...tensor,
      data: bytes.subarray(dataStart + tensor.begin, dataStart + tensor.end),
    })),
  };
}

/**
 * A new Float32Array from F32, F16 or BF16 little-endian bytes. Reading through a DataView
 * makes any byte offset work (tensors in a file need not be 4-byte aligned) on any platform.
 */
export function decodeTensorToFloat32(dtype: Dtype, bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const elementBytes = DTYPE_BYTES[dtype];
  if (bytes.length % elementBytes !== 0) {
    throw new SafetensorsError(
      `${bytes.length} bytes is not a whole number of ${dtype} elements (${elementBytes} bytes each)`,
    );
  }
  const out = new Float32Array(bytes.length / elementBytes);
  if (dtype === 'F32') {
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (dtype === 'BF16') {
    // bfloat16 is the top half of a float32.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < out.length; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  } else if (dtype === 'F16') {
    for (let i = 0; i < out.length; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    throw new SafetensorsError(`cannot decode ${dtype} to float32: only F32, F16 and BF16`);
  }
  return out;
}

export interface Float32Tensor {
  name: string;
  dtype: 'F32';
  shape: number[];
  data: Float32Array;
}

/**
 * A safetensors file as the Rust crate writes it: tensors ordered by dtype (here all F32) then
 * name, "__metadata__" first in the header, header padded with spaces to a multiple of 8 bytes
 * so the data section starts aligned.
 */
export function serializeSafetensors(
  tensors: readonly Float32Tensor[],
  metadata?: Record<string, string>,
): Uint8Array {
  // String comparison orders by UTF-16 unit; it equals Rust's byte order for BMP names.
  const ordered = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // No prototype: a tensor named "constructor" or "__proto__" is a key like any other.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata !== undefined) header.__metadata__ = metadata;
  let offset = 0;
  for (const tensor of ordered) {
    if (tensor.name === '__metadata__' || Object.hasOwn(header, tensor.name)) {
      throw new SafetensorsError(`cannot write two tensors named "${tensor.name}"`);
    }
    const elements = tensor.shape.reduce((product, dim) => product * dim, 1);
    if (elements !== tensor.data.length) {
      throw new SafetensorsError(
        `tensor "${tensor.name}" has shape [${tensor.shape.join(', ')}] (${elements} elements) ` +
          `but ${tensor.data.length} values`,
      );
    }
    header[tensor.name] = {
      dtype: 'F32',
      shape: tensor.shape,
      data_offsets: [offset, offset + 4 * elements],
    };
    offset += 4 * elements;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerBytes + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes);
  let position = 8 + headerBytes;
  for (const tensor of ordered) {
    for (const value of tensor.data) {
      view.setFloat32(position, value, true);
      position += 4;
    }
  }
  return out;
}

function checkHeaderFits(headerBytes: number, totalFileBytes: number): void {
  if (8 + headerBytes > totalFileBytes) {
    throw new SafetensorsError(
      `header length ${headerBytes} bytes goes beyond the end of the file (${totalFileBytes} bytes): ` +
        'the file is truncated',
    );
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function readMetadata(entry: unknown): Record<string, string> {
  if (entry === null) return {};
  if (!isPlainObject(entry) || Object.values(entry).some((v) => typeof v !== 'string')) {
    throw new SafetensorsError('"__metadata__" must map strings to strings');
  }
  return entry as Record<string, string>;
}

function readTensorInfo(name: string, entry: unknown): TensorInfo {
  const problem = (what: string) => new SafetensorsError(`tensor "${name}": ${what}`);
  if (!isPlainObject(entry)) throw problem('entry must be an object {dtype, shape, data_offsets}');
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    throw problem(
      `unknown or unsupported dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_BYTES).join(' ')})`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    throw problem(`shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const [begin, end] = Array.isArray(offsets) && offsets.length === 2 ? offsets : [];
  if (!isNonNegativeInteger(begin) || !isNonNegativeInteger(end) || begin > end) {
    throw problem(
      `data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`,
    );
  }
  return { name, dtype: dtype as Dtype, shape, begin, end };
}

function tensorByteLength(dtype: Dtype, shape: readonly number[], name: string): number {
  const bytes = shape.reduce((product, dim) => product * dim, DTYPE_BYTES[dtype]);
  if (!Number.isSafeInteger(bytes)) {
    throw new SafetensorsError(`tensor "${name}": shape [${shape.join(', ')}] is impossibly large`);
  }
  return bytes;
}

/**
 * JSON.parse keeps the last of repeated keys silently; a header with two entries for one name
 * is ambiguous, so we reject it. Scans the (already valid) JSON text, tracking the keys seen in
 * each open object. Returns a description of the first repeat, or null.
 */
function findDuplicateKey(json: string): string | null {
  const open: (Set<string> | null)[] = []; // one entry per open object (Set) or array (null)
  let lastString = '';
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      lastString = json.slice(i, end + 1);
      i = end;
    } else if (c === ':') {
      const keys = open[open.length - 1];
      const key = JSON.parse(lastString) as string;
      if (keys?.has(key)) return JSON.stringify(key) + (open.length > 1 ? ' inside an entry' : '');
      keys?.add(key);
    } else if (c === '{') {
      open.push(new Set());
    } else if (c === '[') {
      open.push(null);
    } else if (c === '}' || c === ']') {
      open.pop();
    }
  }
  return null;
}

let halfTable: Float32Array | undefined;

// IEEE 754 binary16 → number, through a 65536-entry table built on first use.
function halfToFloat(bits: number): number {
  if (halfTable === undefined) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exponent = (h >> 10) & 0x1f;
      const fraction = h & 0x3ff;
      halfTable[h] =
        exponent === 0
          ? sign * fraction * 2 ** -24 // subnormal
          : exponent === 31
            ? fraction === 0
              ? sign * Number.POSITIVE_INFINITY
              : Number.NaN
            : sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
    }
  }
  return halfTable[bits] as number;
}
