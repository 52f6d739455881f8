import { PlaygroundError } from '../errors';

/** A split or picked folder that cannot be used; the message names the file and line. */
export function datasetError(message: string): PlaygroundError {
  return new PlaygroundError('bad-dataset', message);
}
