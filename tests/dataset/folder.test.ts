import { describe, expect, it } from 'vitest';
import { readDatasetFolder } from '../../src/dataset/folder';

/** A file as <input webkitdirectory> gives it: its path starts with the picked folder's name. */
function picked(path: string, content: string): File {
  const file = new File([content], path.split('/').pop() as string);
  Object.defineProperty(file, 'webkitRelativePath', { value: path });
  return file;
}

const ITEMS = [
  '{"image": "images/0.png", "question": "How many shapes are there?", "answer": "3", "type": "count"}',
  '{"image": "./images/1 b.png", "question": "What color is the star?", "answer": "red", "type": "color"}',
].join('\n');

describe('readDatasetFolder', () => {
  it("pairs every item with its image file, whatever the path's spelling", async () => {
    const zero = picked('mine/images/0.png', 'png 0');
    const one = picked('mine/images/1 b.png', 'png 1');
    const folder = await readDatasetFolder([picked('mine/items.jsonl', ITEMS), one, zero]);
    expect(folder.name).toBe('mine');
    expect(folder.items.map((item) => item.answer)).toEqual(['3', 'red']);
    expect(folder.images).toEqual([zero, one]);
  });

  it('says when items.jsonl is missing', async () => {
    await expect(readDatasetFolder([picked('mine/images/0.png', 'png')])).rejects.toThrow(
      /^mine has no items\.jsonl: pick a folder holding items\.jsonl/,
    );
  });

  it('names the line of an image the folder lacks', async () => {
    const files = [picked('mine/items.jsonl', ITEMS), picked('mine/images/0.png', 'png')];
    await expect(readDatasetFolder(files)).rejects.toThrow(
      'mine/items.jsonl, line 2: the image "./images/1 b.png" is not in the folder.',
    );
  });

  it('does not take a URL elsewhere for a file of the folder', async () => {
    const files = [
      picked('mine/items.jsonl', '{"image": "https://example.com/0.png", "question": "q"}'),
      picked('mine/0.png', 'png'),
    ];
    await expect(readDatasetFolder(files)).rejects.toThrow(/line 1: the image .* is not in the/);
  });

  it('passes on a malformed line with its number', async () => {
    const files = [picked('mine/items.jsonl', `${ITEMS.split('\n')[0]}\n{"image": `)];
    await expect(readDatasetFolder(files)).rejects.toThrow(
      'mine/items.jsonl, line 2: not valid JSON',
    );
  });
});
