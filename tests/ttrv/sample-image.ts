import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RawImage } from '@huggingface/transformers';
import { REPO_ROOT } from '../../tools/lib/repo-root';

/** The first clean demo sample's image (public/samples/clean-0000.png), as the app decodes it:
 * the image every single-step test of src/ttrv runs on. */
export async function firstCleanSample(): Promise<RawImage> {
  const png = readFileSync(path.join(REPO_ROOT, 'public/samples/clean-0000.png'));
  return RawImage.fromBlob(new Blob([png]));
}
