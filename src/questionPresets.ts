// The multiple-choice format TTRV used for recognition (question, four lettered options, answer
// with the letter); the demo model was trained on exactly this layout (tools/demo-model/shapes.py).
export const OPTION_LETTERS = ['A', 'B', 'C', 'D'] as const;

export function buildMultipleChoiceQuestion(stem: string, options: readonly string[]): string {
  const listed = OPTION_LETTERS.map((letter, i) => `${letter}. ${(options[i] ?? '').trim()}`);
  return `${stem.trim()} ${listed.join(' ')} Answer with the letter.`;
}

const MULTIPLE_CHOICE =
  /^(?:(.*?) )?A\. (.*?) B\. (.*?) C\. (.*?) D\. (.*?) Answer with the letter\.$/s;

/** The stem and options of a question buildMultipleChoiceQuestion wrote; null for any other. */
export function parseMultipleChoiceQuestion(
  question: string,
): { stem: string; options: string[] } | null {
  const match = MULTIPLE_CHOICE.exec(question.trim());
  if (!match) return null;
  const [, stem = '', ...options] = match;
  return { stem, options: options.map((option) => option.trim()) };
}
