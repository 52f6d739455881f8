// The resumable download (src/net/resumableReader.ts) against a Cache API whose writes take time,
// as a browser's do: one request serves reads in order, a failed read says "the parts already
// downloaded are kept" only once they are, a retry reads only the rest, and the cache writes
// overlap the download without piling up. (e2e/bad-input covers it in a page.)
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ByteStream } from '../../src/net/httpRangeReader';
import {
  DownloadError,
  PIECE_BYTES,
  PUTS_IN_FLIGHT,
  resumableReader,
} from '../../src/net/resumableReader';

const URL_ = 'https://example.test/model.safetensors';
const CHUNK_BYTES = 2 ** 20;

/** A Cache whose put lands `delayMs` later; `kept` holds the keys that have landed. */
function slowCache(delayMs: number) {
  const kept = new Map<string, ArrayBuffer>();
  let writing = 0;
  let mostWriting = 0;
  const cache = {
    match: async (key: string) => {
      const body = kept.get(key);
      return body ? new Response(body.slice(0)) : undefined;
    },
    put: (key: string, response: Response) => {
      writing += 1;
      mostWriting = Math.max(mostWriting, writing);
      return new Promise<void>((resolve) =>
        setTimeout(async () => {
          kept.set(key, await response.arrayBuffer());
          writing -= 1;
          resolve();
        }, delayMs),
      );
    },
  };
  vi.stubGlobal('caches', { open: async () => cache });
  return { kept, mostWriting: () => mostWriting };
}

/** The byte at offset i of the file served. */
const byteAt = (i: number) => i % 251;
/** byteAt(0 … CHUNK_BYTES + 250), to cut chunks from. */
const PATTERN = Uint8Array.from({ length: CHUNK_BYTES + 251 }, (_, i) => byteAt(i));

/** Open-ended Range requests of a `fileBytes`-byte file, delivered in 1 MiB chunks; the body
 * fails once when it reaches byte `failAt`. */
function fileServer(fileBytes: number, failAt: number | null) {
  const opens: number[] = [];
  let cancels = 0;
  const open: ByteStream = async (start) => {
    opens.push(start);
    let at = start;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (failAt !== null && at >= failAt) {
          failAt = null;
          controller.error(new Error('connection reset'));
          return;
        }
        if (at >= fileBytes) {
          controller.close();
          return;
        }
        const end = Math.min(fileBytes, at + CHUNK_BYTES, failAt ?? fileBytes);
        controller.enqueue(PATTERN.slice(byteAt(at), byteAt(at) + end - at));
        at = end;
      },
      cancel() {
        cancels += 1;
      },
    });
    return { body, totalBytes: fileBytes };
  };
  return { open, opens, cancels: () => cancels };
}

function expectFileBytes(bytes: Uint8Array, start: number, end: number) {
  expect(bytes.length).toBe(end - start);
  for (const i of [0, 1, bytes.length >> 1, bytes.length - 1]) {
    expect(bytes[i]).toBe(byteAt(start + i));
  }
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('resumableReader', () => {
  it('returns the bytes asked for, piece by piece, and reports the bytes delivered', async () => {
    slowCache(5);
    const server = fileServer(3 * PIECE_BYTES, null);
    const progress: number[] = [];
    const resumable = await resumableReader(URL_, server.open, (n) => progress.push(n));
    expectFileBytes(await resumable(100, 2 * PIECE_BYTES + 7), 100, 2 * PIECE_BYTES + 7);
    expect(progress).toEqual([PIECE_BYTES, 2 * PIECE_BYTES - 93]);
    expect(server.opens).toEqual([100]);
  });

  it("serves the loader's reads from one request: a small gap is read through, a large one or a step back opens another, and close ends it", async () => {
    slowCache(1);
    const server = fileServer(4 * PIECE_BYTES, null);
    const resumable = await resumableReader(URL_, server.open);
    // The header's length, the header, then tensors, as loadTextModel asks for them.
    expectFileBytes(await resumable(0, 8), 0, 8);
    expectFileBytes(await resumable(8, 1000), 8, 1000);
    expectFileBytes(await resumable(1000, PIECE_BYTES + 1000), 1000, PIECE_BYTES + 1000);
    expectFileBytes(
      await resumable(PIECE_BYTES + 5000, 2 * PIECE_BYTES),
      PIECE_BYTES + 5000,
      2 * PIECE_BYTES,
    );
    expect(server.opens).toEqual([0]);
    const far = 2 * PIECE_BYTES + 2 * CHUNK_BYTES;
    expectFileBytes(await resumable(far, far + 10), far, far + 10);
    expectFileBytes(await resumable(20, 30), 20, 30);
    expect(server.opens).toEqual([0, far, 20]);
    expect(server.cancels()).toBe(2);
    resumable.close?.();
    expect(server.cancels()).toBe(3);
    expect(resumable.totalBytes?.()).toBe(4 * PIECE_BYTES);
  });

  it('keeps every piece read before a failure by the time the failure is reported, and a retry reads only the rest', async () => {
    const { kept } = slowCache(50);
    const fileBytes = 3 * PIECE_BYTES;
    const server = fileServer(fileBytes, 2 * PIECE_BYTES + 5);
    const first = await resumableReader(URL_, server.open);
    const failed = await first(0, fileBytes).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(DownloadError);
    expect((failed as Error).message).toMatch(
      /stopped at byte .*connection reset.*Retry to resume/,
    );
    // The two pieces that arrived, and the file's size, are in the cache already.
    expect(kept.size).toBe(3);
    expect(server.opens).toEqual([0]);
    const retry = await resumableReader(URL_, server.open);
    expectFileBytes(await retry(0, fileBytes), 0, fileBytes);
    expect(server.opens).toEqual([0, 2 * PIECE_BYTES]);
    expect(retry.totalBytes?.()).toBe(fileBytes);
  });

  it('an answer that ends early is a download error too', async () => {
    slowCache(1);
    const server = fileServer(PIECE_BYTES, null);
    const resumable = await resumableReader(URL_, server.open);
    const failed = await resumable(0, PIECE_BYTES + 10).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(DownloadError);
    expect((failed as Error).message).toMatch(/the answer ended at byte 8,388,608/);
  });

  it('writes pieces to the cache while the next ones download, at most PUTS_IN_FLIGHT at a time, and a later reader needs no request', async () => {
    const cache = slowCache(20);
    const fileBytes = 6 * PIECE_BYTES;
    const server = fileServer(fileBytes, null);
    const resumable = await resumableReader(URL_, server.open);
    expectFileBytes(await resumable(0, fileBytes), 0, fileBytes);
    expect(cache.mostWriting()).toBeGreaterThan(1);
    expect(cache.mostWriting()).toBeLessThanOrEqual(PUTS_IN_FLIGHT);
    await vi.waitFor(() => expect(cache.kept.size).toBe(7));
    const later = await resumableReader(URL_, server.open);
    expectFileBytes(await later(0, fileBytes), 0, fileBytes);
    expect(server.opens).toEqual([0]);
    expect(later.totalBytes?.()).toBe(fileBytes);
  });
});
