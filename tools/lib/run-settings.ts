// What a benchmark's JSON says its runs used, built from the very settings the runs were given,
// by the function that gives a dataset run its settings (datasetRunSettings), so that a report
// cannot drift from its run: bench:quality once printed the single-image learning rate (3e-3)
// beside runs at the protocol's 5e-3.
import { datasetRunSettings, TTRV_PROTOCOL } from '../../src/dataset/schedule';
import type { DatasetProtocol } from '../../src/protocol';
import { DEFAULT_SETTINGS, type PlaygroundSettings, validateSettings } from '../../src/settings';

/**
 * The settings of one of a benchmark's runs: the defaults, the command line's `--set`, then the
 * run's own (its seed, bench:zoo's reward); refused as the page refuses them.
 */
export function benchSettings(
  overrides: Partial<PlaygroundSettings>,
  own: Partial<PlaygroundSettings> = {},
): PlaygroundSettings {
  const settings = { ...DEFAULT_SETTINGS, ...overrides, ...own };
  const issues = validateSettings(settings);
  if (issues.length > 0) throw new Error(`Settings: ${issues.map((i) => i.message).join('; ')}`);
  return settings;
}

/**
 * A dataset run's learning rate: `--set learning_rate=…` sets it, else TTRV's protocol's (dataset
 * mode's own rate, which datasetRunSettings puts in place of the single-image one).
 */
export function protocolLearningRate(overrides: Partial<PlaygroundSettings>): number {
  return overrides.learning_rate ?? TTRV_PROTOCOL.learning_rate;
}

/**
 * `settings` as a report prints them, less the fields that differ from run to run of one
 * benchmark (`varying`: the seed, bench:zoo's reward), which the report gives beside them.
 */
export function settingsEcho<Settings extends object, Key extends keyof Settings = never>(
  settings: Settings,
  varying: readonly Key[] = [],
): Omit<Settings, Key> {
  const echo = { ...settings };
  for (const key of varying) delete echo[key];
  return echo;
}

/**
 * A dataset run's settings as bench:quality and bench:zoo print them: the protocol's schedule and
 * what it evaluates, then every setting the run samples and trains with (datasetRunSettings: the
 * protocol's num_votes, num_generations and learning_rate in place of the single-image ones).
 */
export function datasetRunEcho<Key extends keyof PlaygroundSettings = never>(
  settings: PlaygroundSettings,
  protocol: DatasetProtocol,
  varying: readonly Key[] = [],
) {
  return {
    ...protocol.schedule,
    evaluate: protocol.evaluate,
    sampled: protocol.sampled,
    ...settingsEcho(datasetRunSettings(settings, protocol), varying),
  };
}
