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

/** index.json, as tools/demo-model writes it: read here alone (fetchSplitIndex). */
type IndexFile = {
  splits: Record<string, { items: string; n_items: number; shifted: boolean; description: string }>;
};

/** A split a served index.json lists, with the URL of its items.jsonl. */
export type ServedSplit = DatasetSplit & { source: { kind: 'url'; itemsUrl: string } };

/**
 * The splits of the index.json at `indexUrl` (the app's, or a candidate model's that a benchmark
 * serves), each items.jsonl's URL resolved against the index's own; null when there is no index
 * (a build without the demo's datasets).
 */
export async function fetchSplitIndex(indexUrl: string): Promise<ServedSplit[] | null> {
  const response = await fetch(indexUrl);
  if (!response.ok) return null;
  const index = (await response.json()) as IndexFile;
  return Object.entries(index.splits).map(([name, split]) => ({
    name,
    source: { kind: 'url', itemsUrl: new URL(split.items, indexUrl).href },
    itemCount: split.n_items,
    labeled: true,
    shifted: split.shifted,
    description: split.description,
  }));
}

/** The demo's splits as the app serves them; none in a build without the demo's datasets. */
export async function fetchDemoSplits(): Promise<DatasetSplit[]> {
  return (await fetchSplitIndex(new URL(`${DEMO_DATASET}index.json`, location.href).href)) ?? [];
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
