// This checkout's root folder, for tools and tests that read its files (public/, .cache/, src/).
import { fileURLToPath } from 'node:url';

/** The repository root: this file is tools/lib/repo-root.ts. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
