import { describe, expect, it } from 'vitest';
import {
  extractAnswer,
  extractChoiceAnswer,
  extractFreeFormAnswer,
  isMultipleChoice,
  stripSpecialTokens,
} from '../../src/rl/answers';

const CHOICE_QUESTION =
  'What is in the image?\nA. cat\nB. dog\nC. fox\nD. owl\nAnswer with the option letter.';
const FREE_QUESTION = 'How many dogs are in the image?';

describe('isMultipleChoice', () => {
  it('recognises options A and B written as "A.", "A)" or "(A)"', () => {
    expect(isMultipleChoice(CHOICE_QUESTION)).toBe(true);
    expect(isMultipleChoice('Pick one: A) cat B) dog')).toBe(true);
    expect(isMultipleChoice('Pick one: (A) cat (B) dog')).toBe(true);
  });

  it('needs both A and B as standalone labels', () => {
    expect(isMultipleChoice('A. cat is all there is')).toBe(false);
    expect(isMultipleChoice(FREE_QUESTION)).toBe(false);
    // The "A." ends the word "USA", so it is no option label even though "B." is.
    expect(isMultipleChoice('Is this the USA. B. maybe')).toBe(false);
  });
});

describe('stripSpecialTokens', () => {
  it('removes chat-template markers and keeps everything else', () => {
    expect(stripSpecialTokens('B<end_of_utterance>')).toBe('B');
    expect(stripSpecialTokens('<|im_start|>assistant: cat<|im_end|>')).toBe('assistant: cat');
    expect(stripSpecialTokens(' dog</s><|endoftext|>')).toBe(' dog');
  });
});

describe('extractChoiceAnswer', () => {
  it('takes the last standalone letter after upper-casing', () => {
    // "ANSWER" contains an A but not as a word; the standalone letter is B.
    expect(extractChoiceAnswer('The answer is b')).toBe('B');
    expect(extractChoiceAnswer('A or maybe C.')).toBe('C');
    expect(extractChoiceAnswer('I think (d)<end_of_utterance>')).toBe('D');
  });

  it('uses Unicode word boundaries like Python', () => {
    // An ASCII \b would see "É" as a non-word character and pick the A of "ÉA".
    expect(extractChoiceAnswer('C, not ÉA')).toBe('C');
    // Underscores and digits are word characters too.
    expect(extractChoiceAnswer('C_D')).toBe('C_D');
    expect(extractChoiceAnswer('A1')).toBe('A1');
  });

  it('falls back to the stripped text in its original case, or ""', () => {
    expect(extractChoiceAnswer('  Paris \n')).toBe('Paris');
    expect(extractChoiceAnswer('<end_of_utterance>')).toBe('');
    expect(extractChoiceAnswer('')).toBe('');
  });
});

describe('extractFreeFormAnswer', () => {
  it('strips tokens, lower-cases, drops the trailing period and a leading article', () => {
    // "  The Cat.<eou>" → "  The Cat." → "the cat." → "the cat" → "cat".
    expect(extractFreeFormAnswer('  The Cat.<end_of_utterance>')).toBe('cat');
    expect(extractFreeFormAnswer('an Apple')).toBe('apple');
    expect(extractFreeFormAnswer('Paris.')).toBe(extractFreeFormAnswer('paris'));
    expect(extractFreeFormAnswer('2.5.')).toBe('2.5');
  });

  it('keeps an article that is the whole answer or the start of a word', () => {
    expect(extractFreeFormAnswer('a')).toBe('a');
    expect(extractFreeFormAnswer('Theater')).toBe('theater');
    expect(extractFreeFormAnswer('Anchor')).toBe('anchor');
  });

  it('collapses inner whitespace', () => {
    expect(extractFreeFormAnswer('red \n\t  car')).toBe('red car');
  });

  it('maps number words zero to ten to digits, word by word', () => {
    expect(extractFreeFormAnswer('Three   dogs<|im_end|>')).toBe('3 dogs');
    expect(extractFreeFormAnswer('There are ten')).toBe('there are 10');
    expect(extractFreeFormAnswer('zero')).toBe('0');
    expect(extractFreeFormAnswer('one two')).toBe('1 2');
    expect(extractFreeFormAnswer('eleven')).toBe('eleven');
    expect(extractFreeFormAnswer('someone')).toBe('someone');
    // Not looked up on Object.prototype.
    expect(extractFreeFormAnswer('constructor')).toBe('constructor');
  });

  it('recognises yes and no only as a whole first word', () => {
    expect(extractFreeFormAnswer('Yes, it is a cat.')).toBe('yes');
    expect(extractFreeFormAnswer('No<|endoftext|>')).toBe('no');
    expect(extractFreeFormAnswer('yesterday')).toBe('yesterday');
    expect(extractFreeFormAnswer('Nothing')).toBe('nothing');
    expect(extractFreeFormAnswer('I say yes')).toBe('i say yes');
  });

  it('gives "" when nothing is left', () => {
    expect(extractFreeFormAnswer('')).toBe('');
    expect(extractFreeFormAnswer('  \n')).toBe('');
    expect(extractFreeFormAnswer('<end_of_utterance>')).toBe('');
  });
});

describe('extractAnswer', () => {
  it('extracts a letter for a multiple-choice question and free form otherwise', () => {
    expect(extractAnswer('b.', CHOICE_QUESTION)).toBe('B');
    expect(extractAnswer('b.', FREE_QUESTION)).toBe('b');
    expect(extractAnswer('Two.', FREE_QUESTION)).toBe('2');
  });
});
