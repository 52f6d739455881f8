// The playground's errors, each with a `code` the page switches on (pure: the page imports it). A code survives comlink
// (workers/playground.worker.ts sends it with the message), so the page never has to recognise
// an error by its wording. Messages are sentences for people that name the fix.

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
  /** Anything else: a bug, reported with its own message. */
  | 'internal';

export class PlaygroundError extends Error {
  override name = 'PlaygroundError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The code an error carries: a PlaygroundError's, or one that crossed comlink; else 'internal'. */
export function errorCodeOf(error: unknown): ErrorCode {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? (code as ErrorCode) : 'internal';
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Thrown by work stopped through its AbortSignal (see Playground.stop). */
export function stoppedError(): PlaygroundError {
  return new PlaygroundError('stopped', 'Stopped before it finished; nothing of it was kept.');
}
