// The playground core's invariants, in Node on Wasm with the shipped demo model: what a good step
// commits, and that an out-of-memory error, a lost device, a stop, an overflowing update or a
// failed dataset run leave the session's adapter exactly as it was. A fake GPU device stands in
// for WebGPU's error scopes and loss (the real ones are exercised by the e2e suite).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { defaultDevice, init } from '@jax-js/jax';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlayground, type GuardedDevice, type Playground } from '../../src/core/playground';
import { datasetRunSettings } from '../../src/dataset/schedule';
import { PlaygroundError } from '../../src/errors';
import { unpackAdapterZip } from '../../src/formats/peftAdapter';
import type { LoadProgress, StepReport } from '../../src/protocol';
import { learningRateAt } from '../../src/rl/schedule';
import { DEFAULT_SETTINGS, type PlaygroundSettings } from '../../src/settings';
import { nodePlaygroundHost, type ServedApp, serveDemoApp } from '../../tools/lib/node-app';
import { REPO_ROOT } from '../../tools/lib/repo-root';

const CONFIG: PlaygroundSettings = {
  ...DEFAULT_SETTINGS,
  num_votes: 4,
  num_generations: 4,
  max_completion_length: 4,
};
const QUESTION = 'What color is the star?';

function fileOf(relative: string, pickedAs = path.basename(relative)): File {
  const file = new File([readFileSync(path.join(REPO_ROOT, relative))], path.basename(relative));
  Object.defineProperty(file, 'webkitRelativePath', { value: pickedAs });
  return file;
}

/** The files of a folder as <input webkitdirectory> gives them (a dataset fixture by default). */
function pickedFolder(name: string, root = `tests/fixtures/dataset-folder/${name}`): File[] {
  const walk = (dir: string): string[] =>
    readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(`${dir}/${entry.name}`) : [`${dir}/${entry.name}`],
    );
  return walk(root).map((file) => fileOf(file, `${name}/${path.relative(root, file)}`));
}

/** WebGPU's error scopes and loss, as the core uses them; the test decides what they report. */
function fakeDevice() {
  let lose: (info: GPUDeviceLostInfo) => void = () => {};
  const device = {
    nextError: null as GPUError | null,
    pushErrorScope: () => {},
    popErrorScope: async () => {
      const error = device.nextError;
      device.nextError = null;
      return error;
    },
    lost: new Promise<GPUDeviceLostInfo>((resolve) => {
      lose = resolve;
    }),
    lose: (message: string) => lose({ message, reason: 'destroyed' } as GPUDeviceLostInfo),
  };
  return device;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PlaygroundError);
  return (error as PlaygroundError).code;
}

describe('the playground core', () => {
  let served: ServedApp;
  let playground: Playground;
  let device: ReturnType<typeof fakeDevice>;

  beforeAll(async () => {
    await init('wasm');
    defaultDevice('wasm');
    served = await serveDemoApp();
    playground = createPlayground(nodePlaygroundHost(served));
    const info = await playground.loadModel({ kind: 'demo' }, () => {});
    expect(info.device).toBe('wasm');
    // Error scopes from here on: the fake device reports what each test asks for.
    device = fakeDevice();
    playground.attachGpu(device as unknown as GuardedDevice, false);
    await playground.setImage(fileOf('public/samples/clean-0000.png'));
  });

  /** The exported adapter's weights (the zip itself carries a time stamp). */
  const adapterWeights = async () =>
    unpackAdapterZip(await playground.exportAdapter()).safetensorsBytes;

  afterAll(async () => {
    await served?.close();
  });

  it('names what is missing or wrong with a code', async () => {
    expect(await codeOf(playground.exportAdapter())).toBe('no-adapter');
    expect(await codeOf(playground.step('   ', CONFIG))).toBe('bad-question');
    expect(await codeOf(playground.step(QUESTION, { ...CONFIG, num_votes: 0 }))).toBe(
      'bad-settings',
    );
    expect(await codeOf(playground.setImage(new Blob([new Uint8Array([1, 2, 3])])))).toBe(
      'bad-image',
    );
  });

  it('commits a good step: its adapter exports, and compare answers with it', async () => {
    const report = await playground.step(QUESTION, CONFIG);
    expect(report.metrics.step).toBe(1);
    expect(report.distribution.reduce((n, share) => n + share.count, 0)).toBe(CONFIG.num_votes);
    expect((await playground.exportAdapter()).length).toBeGreaterThan(0);
    const { base, adapted } = await playground.compare(QUESTION, CONFIG);
    expect(base.votes).toBe(CONFIG.num_votes);
    expect(adapted?.votes).toBe(CONFIG.num_votes);
  });

  it('runs calls one at a time: a step made while compare answers waits for it', async () => {
    const [compared, stepped] = await Promise.all([
      playground.compare(QUESTION, CONFIG),
      playground.step(QUESTION, CONFIG),
    ]);
    expect(compared.adapted).not.toBeNull();
    expect(stepped.metrics.step).toBe(2);
  });

  it('throws away a step that ran under an out-of-memory error; the adapter is kept', async () => {
    const before = await adapterWeights();
    device.nextError = { message: 'Out of memory\n  at a call trace' } as GPUError;
    const error = await playground.step(QUESTION, CONFIG).catch((e: PlaygroundError) => e);
    expect((error as PlaygroundError).code).toBe('gpu-out-of-memory');
    expect((error as Error).message).toMatch(/^The GPU ran out of memory \(Out of memory\)\./);
    expect(await adapterWeights()).toEqual(before);
    expect((await playground.step(QUESTION, CONFIG)).metrics.step).toBe(3);
  });

  it('refuses an update that makes the weights non-finite and keeps the last good adapter', async () => {
    const before = await adapterWeights();
    // A step's gradient pushes some weights; learning_rate 1e39 sends them to ±Infinity.
    expect(await codeOf(playground.step(QUESTION, { ...CONFIG, learning_rate: 1e39 }))).toBe(
      'non-finite',
    );
    expect(await adapterWeights()).toEqual(before);
  });

  it('stops a step in flight and queued calls; nothing of them is kept', async () => {
    const before = await adapterWeights();
    const step = playground.step(QUESTION, CONFIG);
    const queued = playground.compare(QUESTION, CONFIG);
    await playground.stop();
    expect(await codeOf(step)).toBe('stopped');
    expect(await codeOf(queued)).toBe('stopped');
    expect(await adapterWeights()).toEqual(before);
    // Calls made after the stop run.
    expect((await playground.step(QUESTION, CONFIG)).metrics.step).toBe(4);
  });

  it('keeps the adapter when a dataset run is stopped, and adopts the one a run finishes', async () => {
    const before = await adapterWeights();
    const files = pickedFolder('shapes-3');
    const summary = await playground.openDatasetFolder(files);
    expect(summary).toEqual({
      name: 'shapes-3',
      itemCount: 3,
      labeled: false,
      types: ['color', 'count', 'shape'],
    });
    const protocol = {
      schedule: { subset: 3, epochs: 1, promptsPerStep: 3 },
      num_votes: 4,
      num_generations: 4,
      learning_rate: 5e-3,
      evaluate: 'whole split' as const,
      sampled: true,
    };
    const source = { kind: 'folder' as const, files };
    const phases: string[] = [];
    const stopped = playground.runDataset(source, CONFIG, protocol, (progress) => {
      phases.push(progress.phase);
      if (progress.phase === 'evaluating base') void playground.stop();
    });
    expect(await codeOf(stopped)).toBe('stopped');
    expect(phases).not.toContain('adapting');
    expect(await adapterWeights()).toEqual(before);

    const report = await playground.runDataset(source, CONFIG, protocol, () => {});
    expect(report.itemsAdapted).toBe(3);
    expect(report.scores).toBeNull(); // no labels: agreement only
    expect(report.protocol.sampled).toBe(false); // nothing to score samples against
    expect(report.agreement?.last).toBeGreaterThan(0);
    expect(await adapterWeights()).not.toEqual(before);
  });

  it('runs dataset mode with the settings datasetRunSettings gives, which the benchmarks report', async () => {
    const protocol = {
      schedule: { subset: 1, epochs: 1, promptsPerStep: 1 },
      num_votes: 3,
      num_generations: 2,
      learning_rate: 5e-3,
      evaluate: 'whole split' as const,
      sampled: false,
    };
    const used = datasetRunSettings(CONFIG, protocol);
    // The premise: the protocol's numbers differ from the single-image settings'.
    expect([used.num_votes, used.learning_rate]).not.toEqual([
      CONFIG.num_votes,
      CONFIG.learning_rate,
    ]);
    const steps: StepReport[] = [];
    await playground.runDataset(
      { kind: 'folder', files: pickedFolder('shapes-3') },
      CONFIG,
      protocol,
      (progress) => {
        if (progress.step) steps.push(progress.step);
      },
    );
    expect(steps).toHaveLength(1);
    expect(steps[0]?.metrics.learning_rate).toBe(learningRateAt(0, used));
    expect(steps[0]?.distribution.reduce((n, share) => n + share.count, 0)).toBe(used.num_votes);
  });

  it('reports the votes of each view under view_consistency, and none under the other rewards', async () => {
    const views = { ...CONFIG, reward: 'view_consistency' as const, num_views: 3 };
    const report = await playground.step(QUESTION, views);
    expect(report.views).toHaveLength(1);
    expect(report.views?.[0]?.map((v) => v.view)).toEqual([
      'original',
      'crop, flip, color',
      'crop, color',
    ]);
    expect(report.distribution.reduce((n, share) => n + share.count, 0)).toBe(3 * CONFIG.num_votes);
    // Other plans for the same image and question: the views are prepared again.
    const flipOnly = await playground.step(QUESTION, {
      ...views,
      num_views: 2,
      view_augmentations: ['flip'],
    });
    expect(flipOnly.views?.[0]?.map((v) => v.view)).toEqual(['original', 'flip']);
    expect((await playground.step(QUESTION, CONFIG)).views).toBeNull();

    // Dataset mode: every item adapted on votes with its views.
    const reports: (typeof report)[] = [];
    await playground.runDataset(
      { kind: 'folder', files: pickedFolder('shapes-3') },
      views,
      {
        schedule: { subset: 2, epochs: 1, promptsPerStep: 2 },
        num_votes: 4,
        num_generations: 4,
        learning_rate: 5e-3,
        evaluate: 'whole split',
        sampled: false,
      },
      (progress) => {
        if (progress.step) reports.push(progress.step);
      },
    );
    expect(reports).toHaveLength(1);
    expect(reports[0]?.views?.map((image) => image.length)).toEqual([3, 3]);
  });

  it('after the device is lost, refuses GPU work with gpu-lost and still exports', async () => {
    const before = await adapterWeights();
    device.lose('destroyed by the test');
    await new Promise((resolve) => setTimeout(resolve, 0));
    const error = await playground.step(QUESTION, CONFIG).catch((e: PlaygroundError) => e);
    expect((error as PlaygroundError).code).toBe('gpu-lost');
    expect((error as Error).message).toMatch(/destroyed by the test.*export it/);
    expect(await codeOf(playground.compare(QUESTION, CONFIG))).toBe('gpu-lost');
    expect(await adapterWeights()).toEqual(before);
  });
});

describe('loading with quantised text weights and a vision dtype the repo lacks', () => {
  it('loads q4 text weights, falls back to the fp32 vision encoder with a note, and steps', async () => {
    await init('wasm');
    defaultDevice('wasm');
    const served = await serveDemoApp();
    try {
      const playground = createPlayground(nodePlaygroundHost(served));
      const full = await playground.loadModel({ kind: 'demo' }, () => {});
      expect(full).toMatchObject({ weights: 'f32', visionDtype: 'fp32', notes: [] });
      const info = await playground.loadModel(
        { kind: 'demo', weights: 'q4', vision: 'q4' },
        () => {},
      );
      expect(info.weights).toBe('q4');
      expect(info.textBytes).toBeLessThan(0.4 * full.textBytes);
      // The estimate read before loading said what each load now holds.
      const estimate = await playground.estimateModel({ kind: 'demo', vision: 'q4' });
      expect(estimate.textDeviceBytes.f32).toBe(full.textBytes);
      expect(estimate.textDeviceBytes.q4).toBe(info.textBytes);
      expect(estimate.vision).toEqual({
        dtype: 'fp32',
        fileBytes: statSync(
          path.join(REPO_ROOT, 'public/models/ttrv-demo-shapes/onnx/vision_encoder.onnx'),
        ).size,
      });
      expect(estimate.notes.join(' ')).toContain('has no q4 vision encoder');
      expect(estimate.textFileBytes).toBeGreaterThan(0);
      expect(estimate.textFileBytes).toBeLessThan(
        statSync(path.join(REPO_ROOT, 'public/models/ttrv-demo-shapes/model.safetensors')).size,
      );
      // A folder that is no model: a clear error with a code, not a crash.
      expect(
        await codeOf(playground.estimateModel({ kind: 'folder', files: pickedFolder('shapes-3') })),
      ).toBe('load-failed');
      expect(info.visionDtype).toBe('fp32');
      expect(info.notes.join(' ')).toContain(
        'has no q4 vision encoder (onnx/vision_encoder_q4.onnx)',
      );
      await playground.setImage(fileOf('public/samples/clean-0000.png'));
      const report = await playground.step(QUESTION, CONFIG);
      expect(report.metrics.step).toBe(1);
      expect(Number.isFinite(report.metrics.loss)).toBe(true);
    } finally {
      await served.close();
    }
  });
});

describe('a vision encoder that fails after the model is reported ready', () => {
  it('reports the failure, refuses the step with a sentence that names the fix, and a good model loads after it', async () => {
    await init('wasm');
    defaultDevice('wasm');
    const served = await serveDemoApp();
    try {
      const playground = createPlayground(nodePlaygroundHost(served));
      // The demo model's folder with a vision encoder file that exists but is no ONNX model.
      const files = pickedFolder('broken-vision', 'public/models/ttrv-demo-shapes').map((file) =>
        file.webkitRelativePath === 'broken-vision/onnx/vision_encoder.onnx'
          ? fileOf('public/models/ttrv-demo-shapes/config.json', file.webkitRelativePath)
          : file,
      );
      const reports: LoadProgress[] = [];
      const info = await playground.loadModel({ kind: 'folder', files }, (p) => reports.push(p));
      expect(info.visionDtype).toBe('fp32');
      await playground.setImage(fileOf('public/samples/clean-0000.png'));
      const failed = await playground.step(QUESTION, CONFIG).then(
        () => null,
        (error: unknown) => error as PlaygroundError,
      );
      expect(failed?.code).toBe('load-failed');
      expect(failed?.message).toMatch(
        /vision encoder \(onnx\/vision_encoder\.onnx\) did not load: .+\. Load the model again\.$/,
      );
      expect(reports.filter((p) => p.kind === 'failed')).toHaveLength(1);
      expect(reports.some((p) => p.kind === 'phase' && p.phase === 'vision-session' && p.ms)).toBe(
        false,
      );
      await playground.loadModel({ kind: 'demo' }, () => {});
      const report = await playground.step(QUESTION, CONFIG);
      expect(Number.isFinite(report.metrics.loss)).toBe(true);
    } finally {
      await served.close();
    }
  });
});
