// The models the playground offers, as the page names them: the built-in demo model (served with
// the app, offline), SmolVLM repos on the Hugging Face Hub, or a folder the user picked. Where
// their files come from is src/session/modelSource.ts' job.
export const DEMO_MODEL_ID = 'ttrv-demo-shapes';
export const HUB_MODELS = [
  'HuggingFaceTB/SmolVLM-256M-Instruct',
  'HuggingFaceTB/SmolVLM-500M-Instruct',
] as const;

export type ModelChoice =
  | { kind: 'demo' }
  | { kind: 'hub'; id: string }
  | { kind: 'folder'; files: File[] };
