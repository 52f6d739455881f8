// A localhost HTTP server for files held in memory, the stand-in for the app's origin (or the
// Hub) in Node: it answers Range requests with 206, as any static host does, and logs every byte
// range asked for, so tests can prove what a loader fetched.
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/** Every file under `<root>/<folder>`, keyed by its URL path (`/<folder>/...`). */
export function filesUnder(root: string, folder: string): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const entry of readdirSync(path.join(root, folder), {
    recursive: true,
    withFileTypes: true,
  })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files[`/${path.relative(root, file).split(path.sep).join('/')}`] = readFileSync(file);
  }
  return files;
}

export type RangeServer = {
  url: string;
  /** [start, end) of every Range request, per path. */
  requests: { path: string; start: number; end: number }[];
  close(): Promise<void>;
};

export async function serveBytes(files: Record<string, Uint8Array>): Promise<RangeServer> {
  const requests: RangeServer['requests'] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = files[path];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!range) {
      res.writeHead(200, { 'content-length': body.length }).end(body);
      return;
    }
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]) + 1, body.length);
    requests.push({ path, start, end });
    res
      .writeHead(206, {
        'content-length': end - start,
        'content-range': `bytes ${start}-${end - 1}/${body.length}`,
      })
      .end(body.subarray(start, end));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
