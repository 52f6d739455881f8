import { describe, expect, it } from 'vitest';
import {
  buildMultipleChoiceQuestion,
  parseMultipleChoiceQuestion,
  RECOGNITION_INSTRUCTION,
} from '../src/questionPresets';

describe('buildMultipleChoiceQuestion', () => {
  it('lays out the stem and four lettered options as the demo model was trained', () => {
    expect(
      buildMultipleChoiceQuestion(' What color is the star? ', ['red', ' blue', 'green', 'yellow']),
    ).toBe('What color is the star? A. red B. blue C. green D. yellow Answer with the letter.');
  });
});

describe('parseMultipleChoiceQuestion', () => {
  it('reads back what buildMultipleChoiceQuestion wrote, empty stem and options included', () => {
    for (const [stem, options] of [
      ['What shape is red?', ['square', 'triangle', 'star', 'circle']],
      ['', ['', 'b', '', 'd']],
    ] as const) {
      expect(parseMultipleChoiceQuestion(buildMultipleChoiceQuestion(stem, options))).toEqual({
        stem,
        options,
      });
    }
  });

  it('reads and writes TTRV’s recognition layout too (its instruction, then the options alone)', () => {
    const question = buildMultipleChoiceQuestion(RECOGNITION_INSTRUCTION, [
      'red circle',
      'b',
      'c',
      'd',
    ]);
    expect(question).toBe(`${RECOGNITION_INSTRUCTION} A. red circle B. b C. c D. d`);
    expect(parseMultipleChoiceQuestion(question)).toEqual({
      stem: RECOGNITION_INSTRUCTION,
      options: ['red circle', 'b', 'c', 'd'],
    });
  });

  it('reads a demo sample’s question and refuses any other question', () => {
    expect(
      parseMultipleChoiceQuestion(
        'What shape is red? A. square B. triangle C. star D. circle Answer with the letter.',
      )?.options,
    ).toEqual(['square', 'triangle', 'star', 'circle']);
    expect(parseMultipleChoiceQuestion('How many shapes are there?')).toBeNull();
    expect(parseMultipleChoiceQuestion('A. red B. blue')).toBeNull();
  });
});
