// The demo's sample images (public/samples/, written by tools/demo-model): clean and shifted
// scenes, each with a question, so a first visit can try test-time RL without an image of its own.
export type DemoSample = {
  image: string;
  split: string;
  question: string;
  shifted: boolean;
};

export const SAMPLES_MANIFEST = '/samples/samples.json';

export function demoSampleUrl(sample: DemoSample): string {
  return `/samples/${sample.image}`;
}

export async function fetchDemoSamples(): Promise<DemoSample[]> {
  const response = await fetch(SAMPLES_MANIFEST);
  if (!response.ok) return []; // a custom build without the demo's samples
  return (await response.json()) as DemoSample[];
}
