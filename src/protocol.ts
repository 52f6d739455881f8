// The playground's protocol: every type that crosses the worker boundary (the calls the page makes
// through comlink, their arguments, results and progress reports) and the error codes the calls
// fail with. Page and worker both import it, and so do the implementations (src/core, src/ttrv,
// src/dataset), which build these values; it imports no implementation, only the settings and
// descriptions it is made of, and types alone (so the page loads nothing of the worker's side
// through it). Like web-llm's message types: one place to read the whole API.
import type { Device } from '@jax-js/jax';
import type { WeightFormat } from './engine';
import type { GpuAdapterFacts } from './gpu/gpuAdapter';
import type { GradientCheckResult } from './gpu/gradientCheck';
import type { LoraSettings } from './layout/loraSettings';
import type { ModelChoice, ModelEstimate, VisionDtype } from './models';
import type { StepMetrics } from './rl/metrics';
import type { PlaygroundSettings } from './settings';

// ---------------------------------------------------------------------------------------------
// Errors. Every call fails with a PlaygroundError (src/errors.ts) that carries one of these codes;
// the worker sends the code with the message, and the page switches on it, never on wording.

/** What went wrong, for the page to act on. */
export type ErrorCode =
  /** The WebGPU device is gone: nothing more runs on it; the adapter's CPU copy still exports. */
  | 'gpu-lost'
  /** Work ran under an out-of-memory error and was thrown away; the last good adapter is kept. */
  | 'gpu-out-of-memory'
  | 'bad-image'
  | 'bad-question'
  | 'bad-adapter'
  | 'bad-settings'
  | 'bad-dataset'
  /** NaN or Infinity in logits, or an update that made the adapter's weights non-finite. */
  | 'non-finite'
  | 'no-model'
  | 'no-image'
  | 'no-adapter'
  | 'load-failed'
  /** The work was stopped on request (Pause, Reset, Cancel) before it finished. */
  | 'stopped'
  /** The browser refused to store a run (quota, private mode, blocked storage): page side only;
   * the run goes on in memory. */
  | 'storage'
  /** Anything else: a bug, reported with its own message. */
  | 'internal';

// ---------------------------------------------------------------------------------------------
// The calls.

/**
 * The calls of the playground's core (src/core/playground.ts implements them). They run one at a
 * time in the order they were made, except exportAdapter, estimateModel and openDatasetFolder.
 */
export type PlaygroundCalls = {
  loadModel(choice: ModelChoice, onProgress: (progress: LoadProgress) => void): Promise<ModelInfo>;
  setImage(file: Blob): Promise<ImageInfo>;
  /** Greedy answer and sampled distribution, with the adapter off and on. */
  compare(question: string, config: PlaygroundSettings): Promise<Comparison>;
  /** One TTRV step on the image and question. */
  step(question: string, config: PlaygroundSettings): Promise<StepReport>;
  /** Dataset mode: the run's adapter becomes the session's only when the run finishes cleanly. */
  runDataset(
    source: DatasetSource,
    config: PlaygroundSettings,
    protocol: DatasetProtocol,
    onProgress: (progress: DatasetProgress) => void,
  ): Promise<DatasetReport>;
  resetAdapter(): Promise<void>;
  /**
   * A PEFT adapter zip, checked against the loaded model; returns its LoRA settings. `steps`: the
   * TTRV steps it has already taken (a reopened run, default 0), so the learning-rate schedule and
   * the sampling seeds go on from there.
   */
  importAdapter(bytes: Uint8Array, steps?: number): Promise<LoraSettings>;
  /** The PEFT zip of the last good adapter, from its CPU copy: works after the GPU is gone. */
  exportAdapter(): Promise<Uint8Array>;
  /** What loading `choice` would download and hold on the device, read without loading it. */
  estimateModel(choice: ModelChoice): Promise<ModelEstimate>;
  /** Checks a picked dataset folder before any run; nothing of the session changes. */
  openDatasetFolder(files: File[]): Promise<FolderSummary>;
  /** Stops every call made before it; each fails with 'stopped' and changes nothing. */
  stop(): Promise<void>;
};

/** The worker's API as the page sees it through comlink (workers/playground.worker.ts). */
export type PlaygroundApi = PlaygroundCalls & {
  /** Starts jax-js on WebGPU and checks its gradients; the session then computes there. */
  probeGpu(): Promise<GpuReport>;
  /** The threads the CPU path (jax-js' Wasm backend, onnxruntime-web) uses in the worker. */
  cpuThreads(): Promise<CpuThreads>;
};

/** Threads on the CPU path: more than one only when the worker is cross-origin isolated. */
export type CpuThreads = { crossOriginIsolated: boolean; cores: number; threads: number };

export type GpuReport =
  | { ok: true; gpuAdapter: GpuAdapterFacts; devices: string[]; gradientCheck: GradientCheckResult }
  | { ok: false; reason: string };

/**
 * `self.ttrvDiagnostics` in the worker, for the browser's devtools and the e2e tests only; the app
 * never sets anything here. `gpuDevice` is the engine's device (destroy it to see a device loss);
 * `inNextGpuWork` runs once inside the next GPU call's out-of-memory scope (allocate too much there
 * to see how an out-of-memory error is handled).
 */
export type Diagnostics = { gpuDevice: GPUDevice; inNextGpuWork: (() => void) | null };

// ---------------------------------------------------------------------------------------------
// The model, the image and one step.

/**
 * The phases of loading a model, each timed (src/vlm/visionLanguageModel.ts): the processor and
 * tokenizer; the vision encoder's file read and its onnxruntime session created; the text
 * weights' bytes read and converted to the engine's format on the device. The processor, the
 * vision encoder and the text weights load side by side, so their phases overlap.
 */
export type LoadPhase =
  | 'processor'
  | 'vision-file'
  | 'vision-session'
  | 'text-file'
  | 'text-convert';

/** What loading reports as it goes: bytes of one file so far, or a phase that started (`ms`
 * null) or ended (`ms`: the time it took; for the text weights' two phases, which alternate
 * piece by piece, the time spent in each over the whole load). */
export type LoadProgress =
  | { kind: 'bytes'; file: string; loaded: number; total: number }
  | { kind: 'phase'; phase: LoadPhase; ms: number | null }
  /** The vision encoder's session failed after the model was reported ready: it is unusable. */
  | { kind: 'failed'; message: string };

export type ModelInfo = {
  id: string;
  label: string;
  layers: number;
  hiddenSize: number;
  vocabSize: number;
  device: Device;
  /** How the frozen projections are stored, and the text model's bytes on the device. */
  weights: WeightFormat;
  textBytes: number;
  visionDtype: VisionDtype;
  /** Fallbacks taken while loading, as sentences. */
  notes: string[];
};

export type ImageInfo = {
  preview: Blob;
  width: number;
  height: number;
  originalWidth: number;
  originalHeight: number;
};

export type AnswerShare = { answer: string; count: number };

export type AnswerSummary = {
  greedy: string;
  greedyText: string;
  distribution: AnswerShare[];
  votes: number;
};

export type Comparison = { base: AnswerSummary; adapted: AnswerSummary | null };

/** One view's votes, as the page shows them (view_consistency). */
export type ViewVotes = {
  /** What the view changed: "original", or e.g. "crop, flip". */
  view: string;
  distribution: AnswerShare[];
  votes: number;
};

/** One sampled completion of a step, as the completions table shows it. */
export type StepCompletion = {
  /** The prompt it was sampled for: 0 is the image itself, then its views (view_consistency). */
  prompt: number;
  /** What that prompt showed: "original", or the view's changes. */
  view: string;
  text: string;
  /** The answer extracted from it ('' when none). */
  answer: string;
  /** Its reward and the advantage its tokens were trained with (under perception: raised by
   * perception_coef); null for the votes beyond num_generations, which are voted, not trained. */
  reward: number | null;
  advantage: number | null;
  /** Whether the update used it: among the first num_generations, its prompt not skipped by the
   * guard, and the update not skipped. */
  trained: boolean;
  /** Its tokens as text, and each token's log-prob (at the sampling temperature) under the adapter
   * before the step (as sampled) and after it (teacher-forced). */
  tokens: string[];
  before: number[];
  after: number[];
};

/** What the page is shown of one step. */
export type StepReport = {
  metrics: StepMetrics;
  /** The answer distribution of every vote of the step (all its prompts'). */
  distribution: AnswerShare[];
  /** Per image of the step, each view's votes (view_consistency), or null. */
  views: ViewVotes[][] | null;
  /** Why the update was skipped (non-finite loss or gradient), or null. */
  skipped: string | null;
  /** Which prompts the guard skipped and why, in words (guarded_majority), or null. */
  guard: string | null;
  /** Milliseconds this step spent preparing its prompts before voting (the image through the
   * processor and the vision encoder, spliced into the prompt's embeddings): the first step on
   * an image and question pays it; 0 when their prompts were kept from before. */
  promptMs: number;
  /** Every sampled completion of the step, for the completions table; null for dataset mode's
   * steps, which do not look inside (it costs a forward pass over the votes). */
  completions: StepCompletion[] | null;
};

// ---------------------------------------------------------------------------------------------
// Dataset mode (src/dataset): what it runs on, how, and what it reports.

// What a dataset run reads: the shipped demo splits (public/datasets/shapes/index.json, written
// by tools/demo-model), or a folder the user picked in the same layout.
export type DatasetSource = { kind: 'url'; itemsUrl: string } | { kind: 'folder'; files: File[] };

/** What the worker found in a picked folder (openDatasetFolder). */
export type FolderSummary = { name: string; itemCount: number; labeled: boolean; types: string[] };

export type DatasetSchedule = {
  /** Items adapted on, drawn at random from the split (paper: 20). */
  subset: number;
  epochs: number;
  promptsPerStep: number;
};

/** Single-example mode (docs/ttrv.md §3): one item of the split is every step's whole batch. */
export type SingleExampleSchedule = {
  /** 0-based index of the item in the split. */
  example: number;
  steps: number;
  /** Copies of the example per step; each copy draws its own votes. */
  promptsPerStep: number;
};

/** Which items a run scores: all of the split (TTRV: its train set is part of its test set), or
 * only those it did not adapt on. */
export type Evaluation = 'whole split' | 'held out';

/** A dataset run: how it adapts, how many votes, and what it scores. */
export type DatasetProtocol = {
  schedule: DatasetSchedule | SingleExampleSchedule;
  /** Votes per prompt, and how many of them are trained on (TTRV: 32 and the first 16). */
  num_votes: number;
  num_generations: number;
  /**
   * The adapter's learning rate in this run: dataset mode's own, apart from the single-image
   * default (settings), chosen by bench:quality (docs/decisions/0026-dataset-mode-learning-rate-5e-3.md).
   */
  learning_rate: number;
  evaluate: Evaluation;
  /**
   * Also sample every scored item (32 answers with the base model, 16 with the adapter) for
   * avg@16 and maj@32: many times the work of the greedy answers.
   */
  sampled: boolean;
};

export type DatasetProgress = {
  phase: 'preparing' | 'evaluating base' | 'adapting' | 'evaluating adapted';
  done: number;
  total: number;
  /** The adaptation step just taken (phase 'adapting'). */
  step?: StepReport;
};

export type SideScores = {
  accuracy: number;
  avg16: number | null;
  /** Accuracy of the majority of MAJORITY_SAMPLES samples; null with fewer samples. */
  maj32: number | null;
  /** Accuracy of the vote over views (SideAnswers.viewVotes); null when it was not computed. */
  view_vote: number | null;
  /** Share of greedy answers that are no answer of their question type at all. */
  format_failures: number;
};

export type ScoreGroup = {
  n_items: number;
  base: SideScores;
  adapted: SideScores;
  /** Items whose greedy answer went from wrong to right, and from right to wrong. */
  flips: { to_correct: number; to_wrong: number };
};

export type DatasetScores = ScoreGroup & { per_type: Record<string, ScoreGroup> };

/** Single-example mode: the one item adapted on, and its greedy answers before and after. */
export type ExampleReport = {
  number: number;
  image: string;
  question: string;
  /** null: the dataset has no labels. */
  label: string | null;
  /** Its greedy answers; null when a held-out run did not score it. */
  base: string | null;
  adapted: string | null;
};

export type DatasetReport = {
  split: string;
  protocol: {
    /** 'whole split': every item scored (TTRV); 'held out': only those not adapted on. */
    evaluate: Evaluation;
    num_votes: number;
    num_generations: number;
    learning_rate: number;
    sampled: boolean;
  };
  itemsAdapted: number;
  itemsEvaluated: number;
  /** Before and after, overall and per question type; null when the dataset has no labels. */
  scores: DatasetScores | null;
  /** Mean agreement of the sampled answers at the first and the last adaptation step. */
  agreement: { first: number; last: number } | null;
  example: ExampleReport | null;
};
