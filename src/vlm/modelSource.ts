// Where a model's files come from — the built-in demo model served with the app, a Hugging Face
// Hub repo, or a folder the user picked — expressed once, so transformers.js (processor, tokenizer,
// vision encoder) and our engine (model.safetensors by Range requests) read the same files.
import { env } from '@huggingface/transformers';
import { filesByPath, pickedFolderName } from '../files/pickedFolder';
import { DEMO_MODEL_ID, type ModelChoice } from '../models';

export type ResolvedModel = {
  /** What from_pretrained gets. */
  id: string;
  /** The folder URL that config.json and model.safetensors sit in. */
  baseUrl: string;
  /** The fetch to read those files with (a picked folder is served from memory). */
  fetchFn: typeof fetch;
  label: string;
  /** Points transformers.js' env at these files (global state: only for the model being loaded). */
  pointTransformers: () => void;
  /** Whether the text weights are kept in the browser's cache as they download, so that a cut
   * download resumes: over the network (the Hub, and the demo model, whose host may be far away:
   * e2e/bad-input.spec.ts), not from a folder, which is on this machine already. */
  cacheWeights: boolean;
};

const LOCAL_FOLDER_PREFIX = '/__picked-model__/';
const HUB_ID = /^[\w.-]+\/[\w.-]+$/;

/** Serves picked files for URLs under LOCAL_FOLDER_PREFIX, with Range support; else the network. */
function folderFetch(
  files: Map<string, File>,
  origin: string,
  network: typeof fetch,
): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input), origin);
    if (!url.pathname.startsWith(LOCAL_FOLDER_PREFIX)) return network(input, init);
    const name = decodeURIComponent(url.pathname.slice(LOCAL_FOLDER_PREFIX.length)).replace(
      /^[^/]+\//,
      '',
    );
    const file = files.get(name);
    if (!file) return new Response(`${name} is not in the picked folder`, { status: 404 });
    const range = new Headers(init?.headers).get('Range')?.match(/^bytes=(\d+)-(\d+)$/);
    // Content-Length as a server sends it: without it transformers.js grows its buffer for the
    // vision encoder's file chunk by chunk, copying all it has read each time (quadratic: most
    // of a 124 s load at 256M, docs/decisions/0051-the-app-path-at-real-size.md).
    if (!range) {
      return new Response(file, { status: 200, headers: { 'Content-Length': String(file.size) } });
    }
    const start = Number(range[1]);
    const end = Math.min(file.size, Number(range[2]) + 1);
    return new Response(file.slice(start, end), {
      status: 206,
      headers: {
        'Content-Range': `bytes ${start}-${end - 1}/${file.size}`,
        'Content-Length': String(end - start),
      },
    });
  }) as typeof fetch;
}

/** Points transformers.js at the chosen source and says where our engine reads from. */
export function resolveModel(choice: ModelChoice, origin: string): ResolvedModel {
  const network = globalThis.fetch.bind(globalThis);
  if (choice.kind === 'demo') {
    return {
      id: DEMO_MODEL_ID,
      baseUrl: `${origin}/models/${DEMO_MODEL_ID}`,
      fetchFn: network,
      label: 'Built-in demo model (shapes)',
      cacheWeights: true,
      pointTransformers: () => {
        env.allowLocalModels = true;
        env.allowRemoteModels = false;
        env.useBrowserCache = false; // served with the app: nothing to save by caching
        // A path, not a URL: transformers.js only checks local files for non-URL paths.
        env.localModelPath = '/models/';
        env.fetch = network;
      },
    };
  }
  if (choice.kind === 'hub') {
    const id = choice.id.trim();
    if (!HUB_ID.test(id)) {
      throw new Error(`"${choice.id}" is not a Hub model id (expected owner/name).`);
    }
    const host = env.remoteHost.replace(/\/$/, '');
    return {
      id,
      baseUrl: `${host}/${id}/resolve/main`,
      fetchFn: network,
      label: id,
      cacheWeights: true,
      pointTransformers: () => {
        env.allowLocalModels = false;
        env.allowRemoteModels = true;
        env.useBrowserCache = true; // a reload must not download the model again
        env.fetch = network;
      },
    };
  }
  const files = filesByPath(choice.files);
  for (const required of ['config.json', 'model.safetensors']) {
    if (!files.has(required)) {
      throw new Error(
        `The picked folder has no ${required}: pick a folder laid out like a Hub repo.`,
      );
    }
  }
  const folder = pickedFolderName(choice.files, 'local-model').replace(/[^\w.-]/g, '_');
  const fetchFn = folderFetch(files, origin, network);
  return {
    id: folder,
    baseUrl: `${origin}${LOCAL_FOLDER_PREFIX}${folder}`,
    fetchFn,
    label: `Local folder: ${folder}`,
    cacheWeights: false,
    pointTransformers: () => {
      env.allowLocalModels = true;
      env.allowRemoteModels = false;
      env.useBrowserCache = false; // already on this machine
      env.localModelPath = LOCAL_FOLDER_PREFIX;
      env.fetch = fetchFn;
    },
  };
}
