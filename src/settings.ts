// The playground's settings: the TTRV run's (TRL's names, src/rl/config.ts) and the LoRA
// adapter's (PEFT's names, src/layout/loraSettings.ts) as one flat object, which is what the
// settings panel edits, the worker receives and the metrics JSON records.

import {
  DEFAULT_LORA_SETTINGS,
  type LoraSettings,
  validateLoraSettings,
} from './layout/loraSettings';
import { LORA_TARGET_MODULES } from './layout/textLayout';
import {
  DEFAULT_TTRV_CONFIG,
  type TtrvConfig,
  VIEW_AUGMENTATIONS,
  validateTtrvConfig,
} from './rl/config';
import { REWARD_KINDS, REWARDS, rewardsReading } from './rl/rewards';

export type { LoraSettings };
export { LORA_TARGET_MODULES, REWARD_KINDS, REWARDS, rewardsReading, VIEW_AUGMENTATIONS };

export type PlaygroundSettings = TtrvConfig & LoraSettings;

export const DEFAULT_SETTINGS: Readonly<PlaygroundSettings> = {
  ...DEFAULT_TTRV_CONFIG,
  ...DEFAULT_LORA_SETTINGS,
};

export interface ConfigIssue {
  field: keyof PlaygroundSettings;
  message: string;
}

/** Every problem with the settings, as sentences for the UI; empty when the run can start. */
export function validateSettings(settings: PlaygroundSettings): ConfigIssue[] {
  return [...validateTtrvConfig(settings), ...validateLoraSettings(settings)];
}
