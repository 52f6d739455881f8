import { useState } from 'react';
import {
  buildMultipleChoiceQuestion,
  OPTION_LETTERS,
  parseMultipleChoiceQuestion,
} from '../questionPresets';

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

const DEFAULT_CHOICE = {
  stem: 'What color is the circle?',
  options: ['red', 'blue', 'green', 'yellow'],
};

/** The question box, with presets: free answer, yes/no, and a 4-option multiple-choice builder. */
export function QuestionInput({ question, disabled, maxLength, onChange }: Props) {
  const [typed, setTyped] = useState<Exclude<Preset, 'choice'>>('free');
  // A multiple-choice question (a sample's, or one built here) shows its builder, whoever set it.
  const choice = parseMultipleChoiceQuestion(question);
  const preset: Preset = choice ? 'choice' : typed;
  const stem = choice?.stem ?? DEFAULT_CHOICE.stem;
  const options = choice?.options ?? DEFAULT_CHOICE.options;

  const applyChoice = (nextStem: string, nextOptions: string[]) =>
    onChange(buildMultipleChoiceQuestion(nextStem, nextOptions));

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
              if (id === 'choice') return applyChoice(stem, options);
              setTyped(id);
              if (example) onChange(example);
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
