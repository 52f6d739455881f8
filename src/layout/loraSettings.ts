// The LoRA settings under PEFT's own LoraConfig names, so the settings UI, the engine's adapters
// and adapter_config.json share one type and nothing maps names by hand. Pure (no jax-js): the
// page validates them too.
import { LORA_TARGET_MODULES, type LoraTargetModule } from './textLayout';

export type LoraSettings = {
  /** The rank: lora_A is r × in, lora_B out × r. */
  r: number;
  /** The adapter's output is scaled by lora_alpha / r. */
  lora_alpha: number;
  target_modules: LoraTargetModule[];
  /** Recorded in adapter_config.json as PEFT's field; this engine trains without dropout. */
  lora_dropout: number;
};

export const DEFAULT_LORA_SETTINGS: Readonly<LoraSettings> = {
  r: 8,
  lora_alpha: 16,
  target_modules: [...LORA_TARGET_MODULES],
  lora_dropout: 0,
};

/** The LoRA fields of larger settings, copied: what an adapter keeps of the settings it used. */
export function loraSettingsOf(settings: LoraSettings): LoraSettings {
  return {
    r: settings.r,
    lora_alpha: settings.lora_alpha,
    target_modules: [...settings.target_modules],
    lora_dropout: settings.lora_dropout,
  };
}

/** Whether an adapter made with `a` computes as one made with `b` (dropout never applies here). */
export function sameLoraSettings(a: LoraSettings, b: LoraSettings): boolean {
  return (
    a.r === b.r &&
    a.lora_alpha === b.lora_alpha &&
    a.target_modules.join() === b.target_modules.join()
  );
}

export interface LoraSettingsIssue {
  field: keyof LoraSettings;
  message: string;
}

/** Every problem with the LoRA settings, as sentences for the UI; empty when they are usable. */
export function validateLoraSettings(settings: LoraSettings): LoraSettingsIssue[] {
  const issues: LoraSettingsIssue[] = [];
  const check = (ok: boolean, field: keyof LoraSettings, message: string) => {
    if (!ok) issues.push({ field, message });
  };
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  check(
    Number.isInteger(settings.r) && settings.r >= 1,
    'r',
    'r (the LoRA rank) must be a positive integer',
  );
  check(
    isNumber(settings.lora_alpha) && settings.lora_alpha > 0,
    'lora_alpha',
    'lora_alpha must be > 0',
  );
  const modules: readonly string[] = Array.isArray(settings.target_modules)
    ? settings.target_modules
    : [];
  const unknown = modules.filter((m) => !(LORA_TARGET_MODULES as readonly string[]).includes(m));
  check(
    modules.length > 0 && unknown.length === 0 && new Set(modules).size === modules.length,
    'target_modules',
    `target_modules must list some of ${LORA_TARGET_MODULES.join(', ')}, each once` +
      (unknown.length > 0 ? ` (unknown: ${unknown.join(', ')})` : ''),
  );
  check(
    isNumber(settings.lora_dropout) && settings.lora_dropout >= 0 && settings.lora_dropout < 1,
    'lora_dropout',
    'lora_dropout must be in [0, 1)',
  );
  return issues;
}
