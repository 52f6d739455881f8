// `npm run export:trl -- --split <name> --out DIR`: a dataset run's recipe as a TRL GRPOTrainer
// project (src/trl), for a shipped split of the demo dataset or a folder in the same layout
// (`--folder DIR`: items.jsonl and its images). The same bundle as the page's "TRL project"
// button, written as files; the last line printed is a JSON summary.
//
//   --held-out          score only the items not adapted on (default: the whole split, as TTRV)
//   --example N         single-example mode on item N (1-based) instead of TTRV's 20-item schedule
//   --votes 32 --trained 16, --set name=value (any setting), --model ID (default: the demo model)
//   --write-vectors     rewrite src/trl/python/ttrv_reward_vectors.json from src/rl and stop
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SINGLE_EXAMPLE_SCHEDULE, TTRV_PROTOCOL } from '../../src/dataset/schedule';
import { DEMO_MODEL_ID } from '../../src/models';
import type { DatasetProtocol } from '../../src/protocol';
import { datasetTrlBundle } from '../../src/trl/fromRun';
import { rewardVectors } from '../../src/trl/rewardVectors';
import { REPO_ROOT } from '../lib/repo-root';
import { benchSettings, protocolLearningRate } from '../lib/run-settings';
import { filesUnder } from '../lib/serve-files';
import { settingOverrides } from '../lib/setting-overrides';

export const VECTORS_FILE = path.join(REPO_ROOT, 'src/trl/python/ttrv_reward_vectors.json');

/** The files of a folder as the page's folder picker gives them (webkitRelativePath set). */
export function pickedFolder(dir: string): File[] {
  const name = path.basename(path.resolve(dir));
  return Object.entries(filesUnder(path.dirname(path.resolve(dir)), name)).map(([at, bytes]) => {
    const file = new File([bytes as BlobPart], path.basename(at));
    Object.defineProperty(file, 'webkitRelativePath', { value: at.slice(1) });
    return file;
  });
}

function lineCount(file: string | Uint8Array | undefined): number {
  return typeof file === 'string' ? file.split('\n').filter(Boolean).length : 0;
}

/** Writes the bundle of a split (or folder) into `out`; returns the summary it prints. */
export async function exportTrl(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      split: { type: 'string' },
      folder: { type: 'string' },
      out: { type: 'string' },
      'held-out': { type: 'boolean', default: false },
      example: { type: 'string' },
      votes: { type: 'string', default: String(TTRV_PROTOCOL.num_votes) },
      trained: { type: 'string', default: String(TTRV_PROTOCOL.num_generations) },
      set: { type: 'string', multiple: true, default: [] },
      model: { type: 'string', default: DEMO_MODEL_ID },
    },
  });
  if (!values.out) throw new Error('--out DIR is required: the folder the project is written to');
  if (!values.split === !values.folder) {
    throw new Error('Give --split NAME (a split of the shipped demo dataset) or --folder DIR');
  }
  const folder =
    values.folder ?? path.join(REPO_ROOT, 'public/datasets/shapes', values.split ?? '');
  if (!existsSync(path.join(folder, 'items.jsonl'))) {
    const shipped = readdirSync(path.join(REPO_ROOT, 'public/datasets/shapes'), {
      withFileTypes: true,
    })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    throw new Error(
      values.split
        ? `No split "${values.split}": the shipped splits are ${shipped.join(', ')}`
        : `${folder} has no items.jsonl`,
    );
  }
  if (existsSync(values.out) && readdirSync(values.out).length > 0) {
    throw new Error(`${values.out} is not empty: give a new or empty folder`);
  }
  const settings = benchSettings(settingOverrides(values.set));
  const protocol: DatasetProtocol = {
    ...TTRV_PROTOCOL,
    schedule:
      values.example === undefined
        ? TTRV_PROTOCOL.schedule
        : { ...SINGLE_EXAMPLE_SCHEDULE, example: Number(values.example) - 1 },
    num_votes: Number(values.votes),
    num_generations: Number(values.trained),
    learning_rate: protocolLearningRate(settingOverrides(values.set)),
    evaluate: values['held-out'] ? 'held out' : 'whole split',
  };
  const source = values.split ? `split ${values.split}` : `folder ${path.basename(folder)}`;
  const files = await datasetTrlBundle({
    baseModel: values.model,
    settings,
    source: { kind: 'folder', files: pickedFolder(folder) },
    sourceName: source,
    protocol,
  });
  for (const [name, content] of files) {
    const target = path.join(values.out, name);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  return {
    out: path.resolve(values.out),
    source,
    base_model: values.model,
    files: files.size,
    train_items: lineCount(files.get('data/train.jsonl')),
    eval_items: lineCount(files.get('data/eval.jsonl')),
  };
}

export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--write-vectors')) {
    writeFileSync(VECTORS_FILE, `${JSON.stringify(rewardVectors(), null, 1)}\n`);
    console.log(JSON.stringify({ wrote: VECTORS_FILE }));
    return;
  }
  try {
    console.log(JSON.stringify(await exportTrl(argv)));
  } catch (error) {
    console.error(`export:trl: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
