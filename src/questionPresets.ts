// The two multiple-choice layouts the demo model was trained on (tools/demo-model/shapes.py): a
// question with four lettered options and "Answer with the letter.", and TTRV's recognition prompt
// (docs/ttrv.md §3), whose instruction ends in "Options:" and is followed by the four options alone.
export const OPTION_LETTERS = ['A', 'B', 'C', 'D'] as const;

/** TTRV's recognition instruction, word for word (its examples/ttrv; docs/ttrv.md §3). */
export const RECOGNITION_INSTRUCTION =
  'Look at the given image and identify what it shows. Choose the correct answer from the options below and respond with only the corresponding option letter (A, B, C, or D). Do not include any explanation or extra text. Options:';

const ANSWER_WITH_LETTER = 'Answer with the letter.';

/** The question for `stem` and four options; TTRV's instruction as the stem gives its layout. */
export function buildMultipleChoiceQuestion(stem: string, options: readonly string[]): string {
  const listed = OPTION_LETTERS.map((letter, i) => `${letter}. ${(options[i] ?? '').trim()}`);
  const trimmed = stem.trim();
  return trimmed === RECOGNITION_INSTRUCTION
    ? `${trimmed} ${listed.join(' ')}`
    : `${trimmed} ${listed.join(' ')} ${ANSWER_WITH_LETTER}`;
}

const OPTIONS = 'A\\. (.*?) B\\. (.*?) C\\. (.*?) D\\. (.*?)';
const LAYOUTS = [
  new RegExp(`^(?:(.*?) )?${OPTIONS} ${ANSWER_WITH_LETTER.replace('.', '\\.')}$`, 's'),
  new RegExp(`^(${RECOGNITION_INSTRUCTION.replace(/[().,]/g, '\\$&')}) ${OPTIONS}$`, 's'),
];

/** The stem and options of a question buildMultipleChoiceQuestion wrote; null for any other. */
export function parseMultipleChoiceQuestion(
  question: string,
): { stem: string; options: string[] } | null {
  for (const layout of LAYOUTS) {
    const match = layout.exec(question.trim());
    if (!match) continue;
    const [, stem = '', ...options] = match;
    return { stem, options: options.map((option) => option.trim()) };
  }
  return null;
}
