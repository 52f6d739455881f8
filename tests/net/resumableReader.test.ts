// The resumable download (src/net/resumableReader.ts) against a Cache API whose writes take time,
// as a browser's do: a failed read says "the parts already downloaded are kept" only once they
// are, and a retry reads only the rest. (It had no test of its own; e2e/bad-input covers it in a
// page.)
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RangeReader } from '../../src/formats/safetensors';
import { DownloadError, PIECE_BYTES, resumableReader } from '../../src/net/resumableReader';

const URL_ = 'https://example.test/model.safetensors';
const FILE_BYTES = 3 * PIECE_BYTES;

/** A Cache whose put lands `delayMs` later; `kept` holds the keys that have landed. */
function slowCache(delayMs: number) {
  const kept = new Map<string, ArrayBuffer>();
  const cache = {
    match: async (key: string) => {
      const body = kept.get(key);
      return body ? new Response(body.slice(0)) : undefined;
    },
    put: (key: string, response: Response) =>
      new Promise<void>((resolve) =>
        setTimeout(async () => {
          kept.set(key, await response.arrayBuffer());
          resolve();
        }, delayMs),
      ),
  };
  vi.stubGlobal('caches', { open: async () => cache });
  return kept;
}

/** Range reads of a file whose byte i is i % 251; `failAt` (a start offset) throws once. */
function fileReader(failAt: number | null) {
  const reads: number[] = [];
  const read: RangeReader = async (start, end) => {
    if (start === failAt) {
      failAt = null;
      throw new Error('connection reset');
    }
    reads.push(start);
    return Uint8Array.from({ length: end - start }, (_, i) => (start + i) % 251);
  };
  read.totalBytes = () => FILE_BYTES;
  return { read, reads };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('resumableReader', () => {
  it('returns the bytes asked for, piece by piece, and reports the bytes delivered', async () => {
    slowCache(5);
    const { read } = fileReader(null);
    const progress: number[] = [];
    const resumable = await resumableReader(URL_, read, (n) => progress.push(n));
    const bytes = await resumable(100, 2 * PIECE_BYTES + 7);
    expect(bytes.length).toBe(2 * PIECE_BYTES - 93);
    expect(bytes[0]).toBe(100 % 251);
    expect(bytes[bytes.length - 1]).toBe((2 * PIECE_BYTES + 6) % 251);
    expect(progress).toEqual([PIECE_BYTES, 2 * PIECE_BYTES - 93]);
  });

  it('keeps every piece read before a failure by the time the failure is reported, and a retry reads only the rest', async () => {
    const kept = slowCache(50);
    const { read, reads } = fileReader(2 * PIECE_BYTES);
    const first = await resumableReader(URL_, read);
    const failed = await first(0, FILE_BYTES).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(DownloadError);
    expect((failed as Error).message).toMatch(/stopped at byte .*Retry to resume/);
    // The two pieces that arrived, and the file's size, are in the cache already.
    expect(kept.size).toBe(3);
    expect(reads).toEqual([0, PIECE_BYTES]);
    const retry = await resumableReader(URL_, read);
    const bytes = await retry(0, FILE_BYTES);
    expect(reads).toEqual([0, PIECE_BYTES, 2 * PIECE_BYTES]);
    expect(bytes[PIECE_BYTES + 1]).toBe((PIECE_BYTES + 1) % 251);
    expect(retry.totalBytes?.()).toBe(FILE_BYTES);
  });
});
