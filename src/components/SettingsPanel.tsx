import type { ReactNode } from 'react';
import type { ConfigIssue, PlaygroundSettings } from '../settings';
import {
  LORA_TARGET_MODULES,
  REWARD_KINDS,
  REWARDS,
  rewardsReading,
  VIEW_AUGMENTATIONS,
} from '../settings';

type Props = {
  config: PlaygroundSettings;
  issues: ConfigIssue[];
  disabled: boolean;
  onChange: (patch: Partial<PlaygroundSettings>) => void;
};

type NumberField = {
  [K in keyof PlaygroundSettings]: PlaygroundSettings[K] extends number | null ? K : never;
}[keyof PlaygroundSettings];

function Field({
  name,
  issues,
  children,
  hint,
}: {
  name: keyof PlaygroundSettings;
  issues: ConfigIssue[];
  children: ReactNode;
  hint?: ReactNode;
}) {
  const problems = issues.filter((issue) => issue.field === name);
  return (
    <div className={`field${problems.length ? ' field-invalid' : ''}`}>
      {/* biome-ignore lint/a11y/noLabelWithoutControl: the control comes in as children, inside the label */}
      <label>
        <code>{name}</code>
        {children}
      </label>
      {hint && <p className="hint">{hint}</p>}
      {problems.map((problem) => (
        <p key={problem.message} className="field-error" role="alert">
          {problem.message}
        </p>
      ))}
    </div>
  );
}

/** Every run setting under its TRL / PEFT name, with the checks of validateSettings inline. */
export function SettingsPanel({ config, issues, disabled, onChange }: Props) {
  /** A setting only some rewards read is off under the others, and says which read it. */
  const readers = (name: keyof PlaygroundSettings) => {
    const by = rewardsReading(name);
    return {
      unread: by.length > 0 && !by.includes(config.reward),
      readBy: by.length > 0 ? `Read by the ${by.join(', ')} reward only. ` : null,
    };
  };
  const number = (name: NumberField, step: number, nullable = false, hint?: ReactNode) => {
    const { unread, readBy } = readers(name);
    return (
      <Field
        name={name}
        issues={issues}
        hint={
          readBy || hint ? (
            <>
              {readBy}
              {hint}
            </>
          ) : undefined
        }
      >
        <input
          type="number"
          step={step}
          value={config[name] ?? ''}
          placeholder={nullable ? 'off' : undefined}
          disabled={disabled || unread}
          data-testid={`setting-${name}`}
          onChange={(event) => {
            const text = event.currentTarget.value;
            onChange({ [name]: text === '' && nullable ? null : Number(text) });
          }}
        />
      </Field>
    );
  };
  const augmentationsRead = readers('view_augmentations');
  const choice = <K extends 'reward' | 'baseline' | 'scale_rewards' | 'loss_type'>(
    name: K,
    options: readonly PlaygroundSettings[K][],
    hint?: ReactNode,
  ) => (
    <Field name={name} issues={issues} hint={hint}>
      <select
        value={config[name]}
        disabled={disabled}
        data-testid={`setting-${name}`}
        onChange={(event) =>
          onChange({ [name]: event.currentTarget.value } as Partial<PlaygroundSettings>)
        }
      >
        {options.map((option) => (
          <option key={option} value={option}>
            {option}
          </option>
        ))}
      </select>
    </Field>
  );

  return (
    <section className="panel settings-panel" data-testid="settings">
      <h2>Settings</h2>
      <details open>
        <summary>Voting and reward</summary>
        <div className="field-grid">
          {number('num_votes', 1)}
          {number('num_generations', 1)}
          {number('temperature', 0.1)}
          {number('top_p', 0.05)}
          {number('top_k', 1, true)}
          {number('max_completion_length', 1)}
          {choice('reward', REWARD_KINDS, REWARDS[config.reward].description)}
          {number(
            'alpha',
            0.05,
            false,
            <>
              The entropy term −H(p)/ln M is one value per prompt. With the group baseline it
              cancels exactly, so α has no effect on the gradient; with any baseline a per-prompt
              constant adds nothing to the expected gradient (E[∇ log π] = 0), only variance. To
              push answer entropy down use the frequency or majority reward, or a negative{' '}
              <code>entropy_coef</code>.
            </>,
          )}
          {number(
            'guard_threshold',
            0.05,
            false,
            'A prompt whose most common answer holds less than this share of the votes gets equal rewards, so no update.',
          )}
          {number(
            'num_views',
            1,
            false,
            'The image and num_views − 1 augmented views of it: each view costs one vision-encoder pass and num_votes samples per step.',
          )}
          <Field name="view_augmentations" issues={issues} hint={augmentationsRead.readBy}>
            <span className="checkbox-row">
              {VIEW_AUGMENTATIONS.map((augmentation) => (
                <label key={augmentation}>
                  <input
                    type="checkbox"
                    checked={config.view_augmentations.includes(augmentation)}
                    disabled={disabled || augmentationsRead.unread}
                    data-testid={`setting-view_augmentations-${augmentation}`}
                    onChange={(event) => {
                      const on = event.currentTarget.checked;
                      onChange({
                        view_augmentations: VIEW_AUGMENTATIONS.filter((a) =>
                          a === augmentation ? on : config.view_augmentations.includes(a),
                        ),
                      });
                    }}
                  />
                  {augmentation}
                </label>
              ))}
            </span>
          </Field>
          {number(
            'perception_coef',
            0.05,
            false,
            'Weight of the masked-image term: answers whose log-prob falls when the image is masked are pushed up (one more forward and backward pass per step).',
          )}
          {choice('baseline', ['group', 'batch', 'none'])}
          {choice('scale_rewards', ['group', 'batch', 'none'])}
          {number('early_stop_agreement', 0.05, true)}
        </div>
      </details>
      <details open>
        <summary>Loss and optimiser</summary>
        <div className="field-grid">
          {number('learning_rate', 0.0001)}
          {number('max_steps', 1)}
          {number('warmup_steps', 1)}
          {number('beta', 0.001)}
          {number('entropy_coef', 0.01)}
          {choice('loss_type', ['token_mean', 'sequence_mean'])}
          {number('epsilon', 0.05)}
          {number('num_iterations', 1)}
          {number('max_grad_norm', 0.1)}
          {number('weight_decay', 0.01)}
          {number('seed', 1)}
        </div>
      </details>
      <details>
        <summary>LoRA</summary>
        <div className="field-grid">
          {number('r', 1)}
          {number('lora_alpha', 1)}
          <Field name="target_modules" issues={issues}>
            <span className="checkbox-row">
              {LORA_TARGET_MODULES.map((module) => (
                <label key={module}>
                  <input
                    type="checkbox"
                    checked={config.target_modules.includes(module)}
                    disabled={disabled}
                    onChange={(event) => {
                      const on = event.currentTarget.checked;
                      onChange({
                        target_modules: LORA_TARGET_MODULES.filter((m) =>
                          m === module ? on : config.target_modules.includes(m),
                        ),
                      });
                    }}
                  />
                  {module}
                </label>
              ))}
            </span>
          </Field>
        </div>
      </details>
    </section>
  );
}
