// The shipped demo splits (public/datasets/shapes/index.json, written by tools/demo-model).
export type DatasetSplit = {
  name: string;
  itemsUrl: string;
  itemCount: number;
  shifted: boolean;
  description: string;
};

const DEMO_DATASET = '/datasets/shapes/';

type IndexFile = {
  splits: Record<string, { items: string; n_items: number; shifted: boolean; description: string }>;
};

export async function fetchDemoSplits(): Promise<DatasetSplit[]> {
  const response = await fetch(`${DEMO_DATASET}index.json`);
  if (!response.ok) return []; // a build without the demo's datasets
  const index = (await response.json()) as IndexFile;
  return Object.entries(index.splits).map(([name, split]) => ({
    name,
    itemsUrl: new URL(`${DEMO_DATASET}${split.items}`, location.href).href,
    itemCount: split.n_items,
    shifted: split.shifted,
    description: split.description,
  }));
}
