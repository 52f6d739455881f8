// The playground's errors, each with one of the protocol's codes (src/protocol.ts, ErrorCode) that
// the page switches on. A shared leaf: the core and the layers under it throw them, the page reads
// them (pure TypeScript). A code survives comlink (workers/playground.worker.ts sends it with the
// message), so the page never has to recognise an error by its wording. Messages are sentences
// for people that name the fix.
import type { ErrorCode } from './protocol';

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
