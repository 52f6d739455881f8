import { describe, expect, it } from 'vitest';
import { buildMultipleChoiceQuestion } from '../../src/questionPresets';

describe('buildMultipleChoiceQuestion', () => {
  it('lays out the stem and four lettered options as the demo model was trained', () => {
    expect(
      buildMultipleChoiceQuestion(' What color is the star? ', ['red', ' blue', 'green', 'yellow']),
    ).toBe('What color is the star? A. red B. blue C. green D. yellow Answer with the letter.');
  });
});
