// Reading a remote file in byte ranges, over HTTP Range requests.
import type { RangeReader } from '../formats/safetensors';

/** The bytes of a file from an offset to its end, as they arrive, and the file's size when the
 * server says it. */
export type ByteStream = (
  start: number,
) => Promise<{ body: ReadableStream<Uint8Array>; totalBytes: number | undefined }>;

/** The file's size from a 206 answer; a server that ignores Range is an error, not a download. */
function partialContentSize(url: string, response: Response): number | undefined {
  if (response.status !== 206) {
    throw new Error(
      `${url}: expected 206 Partial Content for a Range request, got ${response.status}`,
    );
  }
  const size = response.headers.get('Content-Range')?.match(/\/(\d+)$/)?.[1];
  return size ? Number(size) : undefined;
}

/** A RangeReader over HTTP Range requests, one request per read. */
export function httpRangeReader(url: string, fetchFn: typeof fetch = fetch): RangeReader {
  let total: number | undefined;
  const read: RangeReader = async (start, end) => {
    const response = await fetchFn(url, { headers: { Range: `bytes=${start}-${end - 1}` } });
    total = partialContentSize(url, response) ?? total;
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length !== end - start) {
      throw new Error(`${url}: asked for ${end - start} bytes at ${start}, got ${bytes.length}`);
    }
    return bytes;
  };
  read.totalBytes = () => total;
  return read;
}

/** `url` from `start` to its end in one open-ended Range request (`bytes=start-`). */
export function httpRangeStream(url: string, fetchFn: typeof fetch = fetch): ByteStream {
  return async (start) => {
    const response = await fetchFn(url, { headers: { Range: `bytes=${start}-` } });
    const totalBytes = partialContentSize(url, response);
    if (!response.body) throw new Error(`${url}: the Range request's answer has no body`);
    return { body: response.body, totalBytes };
  };
}
