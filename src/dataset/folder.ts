// Dataset mode on a folder the user picked, laid out like a shipped split: an items.jsonl (one
// JSON object a line: image, question, optional answer and type) and the images it names.

import { filesByPath, pickedFolderName } from '../files/pickedFolder';
import { datasetError } from './errors';
import type { DatasetItem } from './items';
import { readItems } from './items';

export type DatasetFolder = {
  name: string;
  items: DatasetItem[];
  /** The image file of each item, in the same order. */
  images: File[];
};

/** A path as written in items.jsonl as a key of filesByPath ("./images/a.png" → "images/a.png"). */
function folderPath(image: string): string {
  const url = new URL(image, 'file:///');
  // A URL elsewhere is no file of the folder: leave it as written, to be reported missing.
  return url.protocol === 'file:' ? decodeURIComponent(url.pathname.slice(1)) : image;
}

/** The folder's items, each with its image file; errors say what is missing and where. */
export async function readDatasetFolder(files: readonly File[]): Promise<DatasetFolder> {
  const name = pickedFolderName(files, 'the picked folder');
  const byPath = filesByPath(files);
  const itemsFile = byPath.get('items.jsonl');
  if (!itemsFile) {
    throw datasetError(
      `${name} has no items.jsonl: pick a folder holding items.jsonl (one JSON object a line ` +
        'with image, question and optionally answer and type) and the images it names.',
    );
  }
  const items = readItems(await itemsFile.text(), `${name}/items.jsonl`);
  const images = items.map((item) => {
    const file = byPath.get(folderPath(item.image));
    if (!file) {
      throw datasetError(
        `${name}/items.jsonl, line ${item.line}: the image "${item.image}" is not in the folder.`,
      );
    }
    return file;
  });
  return { name, items, images };
}
