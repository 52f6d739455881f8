// A run's TRL bundle from what the page (or the CLI) has: a dataset split's source, or the image
// and question of a single-image run; and the bundle as one zip for the download.
import { zipSync } from 'fflate';
import { imageBytes, openDatasetFiles } from '../dataset/source';
import type { DatasetProtocol, DatasetSource } from '../protocol';
import type { PlaygroundSettings } from '../settings';
import { type BundleFiles, type TrlItem, trlBundle, trlSelection } from './bundle';

/** An image's file extension from its name, URL or MIME type ("png" when none says). */
export function imageExtension(nameOrType: string): string {
  const fromType = /^image\/(\w+)/.exec(nameOrType)?.[1];
  const ext = fromType ?? /\.(\w+)$/.exec(nameOrType.split(/[?#]/)[0] ?? '')?.[1] ?? 'png';
  return ext.toLowerCase() === 'jpeg' ? 'jpg' : ext.toLowerCase();
}

/** TTRV's protocol on a split: the items it adapts on, and its labelled items to score. */
export async function datasetTrlBundle(options: {
  baseModel: string;
  settings: PlaygroundSettings;
  source: DatasetSource;
  /** The split as the user knows it: "split sketch", "folder my-photos". */
  sourceName: string;
  protocol: DatasetProtocol;
}): Promise<BundleFiles> {
  const { items, images } = await openDatasetFiles(options.source);
  const run = { kind: 'dataset', protocol: options.protocol } as const;
  const labeled = items.every((item) => item.answer !== null);
  const selection = trlSelection(items.length, run, options.settings.seed, labeled);
  const trlItem = async (i: number): Promise<TrlItem> => {
    const item = items[i];
    const image = images[i];
    if (!item || image === undefined) throw new RangeError(`the split has no item ${i}`);
    return {
      id: item.id,
      question: item.question,
      type: item.type,
      answer: item.answer,
      image: {
        extension: imageExtension(typeof image === 'string' ? image : image.name),
        bytes: await imageBytes(image),
      },
    };
  };
  return trlBundle({
    baseModel: options.baseModel,
    settings: options.settings,
    run,
    source: options.sourceName,
    train: await Promise.all(selection.train.map(trlItem)),
    evaluate: await Promise.all(selection.evaluate.map(trlItem)),
    exportedAt: new Date(),
  });
}

/** A single-image run: its one unlabeled image and question, one prompt per step. */
export async function imageTrlBundle(options: {
  baseModel: string;
  settings: PlaygroundSettings;
  question: string;
  image: Blob;
}): Promise<BundleFiles> {
  return trlBundle({
    baseModel: options.baseModel,
    settings: options.settings,
    run: { kind: 'image' },
    source: "the page's image",
    train: [
      {
        id: 'image',
        question: options.question,
        type: 'untyped',
        answer: null,
        image: {
          extension: imageExtension(options.image.type),
          bytes: new Uint8Array(await options.image.arrayBuffer()),
        },
      },
    ],
    evaluate: [],
    exportedAt: new Date(),
  });
}

/** The bundle as one zip, every file under `folder/`. */
export function zipBundle(files: BundleFiles, folder: string): Uint8Array {
  const encoder = new TextEncoder();
  return zipSync(
    Object.fromEntries(
      [...files].map(([name, content]) => [
        `${folder}/${name}`,
        typeof content === 'string' ? encoder.encode(content) : content,
      ]),
    ),
  );
}
