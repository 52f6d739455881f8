// A split's items and where each one's image is, from either source (a served items.jsonl or a
// picked folder): what a dataset run decodes (./run.ts) and what a TRL export copies (src/trl).

import type { DatasetSource } from '../protocol';
import { datasetError } from './errors';
import { readDatasetFolder } from './folder';
import type { DatasetItem } from './items';
import { parseItems } from './items';

export type DatasetFiles = {
  name: string;
  items: DatasetItem[];
  /** Each item's image: a picked file, or the URL a served split names. */
  images: (File | string)[];
};

/** Reads a shipped split's items.jsonl (by URL) or a picked folder's; errors name what is wrong. */
export async function openDatasetFiles(source: DatasetSource): Promise<DatasetFiles> {
  if (source.kind === 'folder') return readDatasetFolder(source.files);
  const response = await fetch(source.itemsUrl);
  if (!response.ok) {
    throw datasetError(`Could not read ${source.itemsUrl} (HTTP ${response.status}).`);
  }
  const items = parseItems(await response.text(), response.url || source.itemsUrl);
  return { name: source.itemsUrl, items, images: items.map((item) => item.image) };
}

/** An item's image file as bytes (served images are fetched). */
export async function imageBytes(image: File | string): Promise<Uint8Array> {
  if (typeof image !== 'string') return new Uint8Array(await image.arrayBuffer());
  const response = await fetch(image);
  if (!response.ok) {
    throw datasetError(`Could not read ${image} (HTTP ${response.status}).`);
  }
  return new Uint8Array(await response.arrayBuffer());
}
