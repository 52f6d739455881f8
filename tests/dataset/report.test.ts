import { describe, expect, it } from 'vitest';
import type { LabeledItem } from '../../src/dataset/items';
import { answerSpaces, scoreDataset } from '../../src/dataset/report';

const item = (type: string, question: string, answer: string, line: number): LabeledItem => ({
  id: String(line),
  line,
  image: `${line}.png`,
  question,
  answer,
  type,
});

const MC = 'What shape is red? A. square B. star C. circle D. cross Answer with the letter.';
const ITEMS = [
  item('color', 'What color is the star?', 'red', 1),
  item('color', 'What color is the square?', 'Blue.', 2),
  item('mc', MC, 'B', 3),
  item('mc', MC, 'C', 4),
];
const repeat = (answers: string[], times: number) =>
  answers.map((a) => Array.from({ length: times }, () => a));

describe('answerSpaces', () => {
  it("is every label of a type, extracted as answers are (so 'Blue.' is 'blue')", () => {
    expect(answerSpaces(ITEMS)).toEqual(
      new Map([
        ['color', new Set(['red', 'blue'])],
        ['mc', new Set(['B', 'C'])],
      ]),
    );
  });
});

describe('scoreDataset', () => {
  it('scores greedy accuracy, avg@16, maj@32, format failures and flips, overall and per type', () => {
    const base = {
      greedy: ['red', 'a blue thing', 'B', 'A'],
      // Item 1: 8 of 32 samples right but the majority wrong; item 2: a right majority.
      samples: [
        [...Array(8).fill('red'), ...Array(24).fill('blue')],
        [...Array(20).fill('blue'), ...Array(12).fill('red')],
        Array(32).fill('B'),
        Array(32).fill('D'),
      ],
      // The vote over views: right on items 1 and 4 only.
      viewVotes: ['red', 'red', 'C', 'C'],
    };
    const adapted = {
      greedy: ['blue', 'blue', 'B', 'C'],
      samples: repeat(['blue', 'blue', 'B', 'C'], 16),
      viewVotes: null,
    };
    const scores = scoreDataset(ITEMS, base, adapted);
    expect(scores.n_items).toBe(4);
    expect(scores.base.accuracy).toBe(0.5); // red, B
    expect(scores.adapted.accuracy).toBe(0.75); // blue, B, C
    // First 16 samples: item 1 8/16 right, item 2 16/16, item 3 16/16, item 4 0/16.
    expect(scores.base.avg16).toBe((0.5 + 1 + 1 + 0) / 4);
    expect(scores.base.maj32).toBe(0.5); // blue ✗, blue ✓, B ✓, D ✗
    expect(scores.adapted.maj32).toBeNull(); // only 16 samples each
    expect(scores.base.view_vote).toBe(0.5);
    expect(scores.adapted.view_vote).toBeNull();
    expect(scores.per_type.mc?.base.view_vote).toBe(0.5);
    // 'a blue thing' is no colour, and 'A' is no label of the mc type in this split.
    expect(scores.base.format_failures).toBe(0.5);
    expect(scores.adapted.format_failures).toBe(0);
    expect(scores.flips).toEqual({ to_correct: 2, to_wrong: 1 });
    expect(scores.per_type.color?.flips).toEqual({ to_correct: 1, to_wrong: 1 });
    expect(scores.per_type.mc?.base.accuracy).toBe(0.5);
    expect(scores.per_type.mc?.adapted.accuracy).toBe(1);
  });

  it('leaves avg@16 and maj@32 out when the run did not sample', () => {
    const greedy = { greedy: ['red', 'blue', 'B', 'C'], samples: null, viewVotes: null };
    const scores = scoreDataset(ITEMS, greedy, greedy);
    expect(scores.base).toEqual({
      accuracy: 1,
      avg16: null,
      maj32: null,
      view_vote: null,
      format_failures: 0,
    });
    expect(scores.flips).toEqual({ to_correct: 0, to_wrong: 0 });
  });
});
