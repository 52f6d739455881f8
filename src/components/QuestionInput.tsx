import { useState } from 'react';
import { buildMultipleChoiceQuestion, OPTION_LETTERS } from '../questionPresets';

type Props = {
  question: string;
  disabled: boolean;
  maxLength: number;
  onChange: (question: string) => void;
};

type Preset = 'free' | 'yesno' | 'choice';

const PRESETS: readonly [Preset, string, string | null][] = [
  ['free', 'Free answer', 'How many shapes are there?'],
  ['yesno', 'Yes / no', 'Is there a red circle?'],
  ['choice', 'Multiple choice', null],
];

/** The question box, with presets: free answer, yes/no, and a 4-option multiple-choice builder. */
export function QuestionInput({ question, disabled, maxLength, onChange }: Props) {
  const [preset, setPreset] = useState<Preset>('free');
  const [stem, setStem] = useState('What color is the circle?');
  const [options, setOptions] = useState(['red', 'blue', 'green', 'yellow']);

  const applyChoice = (nextStem: string, nextOptions: string[]) => {
    setStem(nextStem);
    setOptions(nextOptions);
    onChange(buildMultipleChoiceQuestion(nextStem, nextOptions));
  };

  return (
    <section className="panel question-panel">
      <h2>Question</h2>
      <div className="preset-tabs" role="tablist">
        {PRESETS.map(([id, label, example]) => (
          <button
            key={id}
            type="button"
            role="tab"
            aria-selected={preset === id}
            disabled={disabled}
            onClick={() => {
              setPreset(id);
              if (example) onChange(example);
              else applyChoice(stem, options);
            }}
          >
            {label}
          </button>
        ))}
      </div>
      {preset === 'choice' && (
        <div className="choice-builder">
          <input
            aria-label="Question stem"
            value={stem}
            disabled={disabled}
            onChange={(event) => applyChoice(event.currentTarget.value, options)}
          />
          {OPTION_LETTERS.map((letter, i) => (
            <label key={letter}>
              {letter}.
              <input
                aria-label={`Option ${letter}`}
                value={options[i] ?? ''}
                disabled={disabled}
                onChange={(event) => {
                  const next = [...options];
                  next[i] = event.currentTarget.value;
                  applyChoice(stem, next);
                }}
              />
            </label>
          ))}
        </div>
      )}
      <textarea
        data-testid="question-input"
        value={question}
        rows={3}
        disabled={disabled}
        onChange={(event) => onChange(event.currentTarget.value)}
        placeholder="Ask something about the image"
      />
      <p className={question.length > maxLength ? 'field-error' : 'hint'}>
        {question.length.toLocaleString()} / {maxLength.toLocaleString()} characters
      </p>
    </section>
  );
}
