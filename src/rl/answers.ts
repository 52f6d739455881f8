// Answer extraction (docs/ttrv.md §2): turns a completion into the string it votes for. Two completions
// vote together iff these strings are equal, so everything here is about normalising away
// differences that do not change the answer.

// Chat-template and tokenizer markers such as <end_of_utterance>, <|im_end|>, <|endoftext|> or
// </s>: decoding may keep them, and they must not split otherwise identical answers.
const SPECIAL_TOKEN = /<\|[^\s<>|]+\|>|<\/?[A-Za-z][\w:-]*>/g;

// Python's \w on str patterns is Unicode-aware (letters, digits, underscore); JS's \b is ASCII
// only, so word boundaries are spelled out with Unicode property classes.
const WORD_CHAR = '[\\p{L}\\p{N}_]';
// TTRV's choice_answer_clean_gpqa: re.findall(r"\b(A|B|C|D)\b", text.upper()), last match.
const CHOICE_LETTER = new RegExp(`(?<!${WORD_CHAR})[ABCD](?!${WORD_CHAR})`, 'gu');
const YES_NO_FIRST_WORD = new RegExp(`^(yes|no)(?!${WORD_CHAR})`, 'u');

// A Map, not an object literal: a word such as "constructor" must not hit Object.prototype.
const NUMBER_WORDS: ReadonlyMap<string, string> = new Map(
  ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'].map(
    (word, value) => [word, String(value)],
  ),
);

/** An option label for letter L written as `L.`, `L)` or `(L)`, not inside a word. */
function optionLabel(letter: string): RegExp {
  return new RegExp(`(?<!${WORD_CHAR})(?:\\(${letter}\\)|${letter}[.)])`, 'u');
}
const OPTION_A = optionLabel('A');
const OPTION_B = optionLabel('B');

/** True when the question lists at least options A and B, so answers are option letters. */
export function isMultipleChoice(question: string): boolean {
  return OPTION_A.test(question) && OPTION_B.test(question);
}

/** Removes special tokens, leaving the rest of the text (and its whitespace) untouched. */
export function stripSpecialTokens(text: string): string {
  return text.replace(SPECIAL_TOKEN, '');
}

/**
 * The last standalone A–D in the upper-cased completion (so "the answer is b" votes "B");
 * with no such letter, the completion without special tokens and surrounding whitespace, in its
 * original case ("" when nothing is left).
 */
export function extractChoiceAnswer(completion: string): string {
  const text = stripSpecialTokens(completion);
  const matches = text.toUpperCase().match(CHOICE_LETTER);
  const last = matches?.[matches.length - 1];
  return last ?? text.trim();
}

/**
 * A normalised free-form answer: lower-case, no trailing period, single spaces, no leading
 * article, number words zero–ten as digits; a completion whose first word is "yes" or "no"
 * votes just that word. "" when nothing is left.
 */
export function extractFreeFormAnswer(completion: string): string {
  let text = stripSpecialTokens(completion).trim().toLowerCase();
  text = text.replace(/\.$/, '').trim();
  text = text.replace(/\s+/g, ' ');
  const yesNo = YES_NO_FIRST_WORD.exec(text);
  if (yesNo?.[1] !== undefined) return yesNo[1];
  // Only with a word after it: a lone "a" is the answer itself, not an article.
  text = text.replace(/^(?:the|a|an) /, '');
  return text
    .split(' ')
    .map((word) => NUMBER_WORDS.get(word) ?? word)
    .join(' ');
}

/** The answer a completion votes for, as a letter when the question is multiple choice. */
export function extractAnswer(completion: string, question: string): string {
  return isMultipleChoice(question)
    ? extractChoiceAnswer(completion)
    : extractFreeFormAnswer(completion);
}
