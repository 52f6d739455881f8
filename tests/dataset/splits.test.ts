// index.json, read in one place for the page and the benchmarks (fetchSplitIndex): each split's
// items.jsonl resolves against the index's own URL, and a build without the demo's datasets has
// no index rather than an error.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fetchSplitIndex } from '../../src/dataset/splits';

const INDEX = {
  splits: {
    clean: { items: 'clean/items.jsonl', n_items: 300, shifted: false, description: 'as trained' },
    sketch: { items: 'sketch/items.jsonl', n_items: 300, shifted: true, description: 'outlines' },
  },
};

afterEach(() => vi.unstubAllGlobals());

describe('fetchSplitIndex', () => {
  it("lists every split with its items' URL under the index's folder", async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify(INDEX)));
    vi.stubGlobal('fetch', fetch);
    const splits = await fetchSplitIndex('http://127.0.0.1:9/datasets/shapes/index.json');
    expect(fetch).toHaveBeenCalledWith('http://127.0.0.1:9/datasets/shapes/index.json');
    expect(splits).toEqual([
      {
        name: 'clean',
        source: { kind: 'url', itemsUrl: 'http://127.0.0.1:9/datasets/shapes/clean/items.jsonl' },
        itemCount: 300,
        labeled: true,
        shifted: false,
        description: 'as trained',
      },
      {
        name: 'sketch',
        source: { kind: 'url', itemsUrl: 'http://127.0.0.1:9/datasets/shapes/sketch/items.jsonl' },
        itemCount: 300,
        labeled: true,
        shifted: true,
        description: 'outlines',
      },
    ]);
  });

  it('gives null when the index is not served', async () => {
    vi.stubGlobal('fetch', async () => new Response('not found', { status: 404 }));
    expect(await fetchSplitIndex('http://127.0.0.1:9/datasets/shapes/index.json')).toBeNull();
  });
});
