// The splits dataset mode lists: the shipped demo splits (public/datasets/shapes/index.json,
// written by tools/demo-model), or a folder the user picked in the same layout.
import type { DatasetSource, FolderSummary } from '../protocol';
export type DatasetSplit = {
  name: string;
  source: DatasetSource;
  itemCount: number;
  /** Whether every item has an answer: accuracy is scored only then. */
  labeled: boolean;
  shifted: boolean;
  description: string;
};

/** Where the app serves the demo's splits (public/datasets/shapes/), and its index. */
export const DEMO_DATASET = '/datasets/shapes/';

/** index.json, as tools/demo-model writes it. */
export type IndexFile = {
  splits: Record<string, { items: string; n_items: number; shifted: boolean; description: string }>;
};

export async function fetchDemoSplits(): Promise<DatasetSplit[]> {
  const response = await fetch(`${DEMO_DATASET}index.json`);
  if (!response.ok) return []; // a build without the demo's datasets
  const index = (await response.json()) as IndexFile;
  return Object.entries(index.splits).map(([name, split]) => ({
    name,
    source: { kind: 'url', itemsUrl: new URL(`${DEMO_DATASET}${split.items}`, location.href).href },
    itemCount: split.n_items,
    labeled: true,
    shifted: split.shifted,
    description: split.description,
  }));
}

/** A picked folder as a split of the list (named apart from the shipped ones). */
export function folderSplit(summary: FolderSummary, files: File[]): DatasetSplit {
  const { itemCount, labeled, types } = summary;
  return {
    name: `folder ${summary.name}`,
    source: { kind: 'folder', files },
    itemCount,
    labeled,
    shifted: false,
    description: `The picked folder ${summary.name}: ${itemCount} item${itemCount === 1 ? '' : 's'}, question types ${types.join(', ')}; ${
      labeled
        ? 'labeled, so accuracy is scored (labels are never used to adapt).'
        : 'no labels, so the run adapts and reports agreement but no accuracy.'
    }`,
  };
}
