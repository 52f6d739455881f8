// `--set name=value` on the command line of the benchmarks and export:trl.
import { DEFAULT_SETTINGS, type PlaygroundSettings } from '../../src/settings';

/** `--set name=value`: a setting, parsed as the default's type. */
export function settingOverrides(assignments: readonly string[]): Partial<PlaygroundSettings> {
  const overrides: Record<string, unknown> = {};
  for (const assignment of assignments) {
    const [field = '', raw = ''] = assignment.split('=');
    if (!(field in DEFAULT_SETTINGS)) throw new Error(`--set: unknown setting "${field}"`);
    const current = DEFAULT_SETTINGS[field as keyof PlaygroundSettings];
    overrides[field] = Array.isArray(current)
      ? raw.split(',')
      : raw === 'null'
        ? null
        : typeof current === 'string'
          ? raw
          : Number(raw);
  }
  return overrides as Partial<PlaygroundSettings>;
}
