import { describe, expect, it } from 'vitest';
import { parseItems, scoreAnswers } from '../../../src/rl/datasetItems';

const URL_OF_ITEMS = 'http://127.0.0.1:4173/datasets/shapes/sketch/items.jsonl';

describe('parseItems', () => {
  it('reads one item per line and resolves image paths against the file', () => {
    const items = parseItems(
      '{"id": "s-0", "image": "images/0000.png", "question": "What shape is green?", "answer": "square", "type": "shape"}\n\n',
      URL_OF_ITEMS,
    );
    expect(items).toEqual([
      {
        id: 's-0',
        image: 'http://127.0.0.1:4173/datasets/shapes/sketch/images/0000.png',
        question: 'What shape is green?',
        answer: 'square',
        type: 'shape',
      },
    ]);
  });
  it('names the line that is broken or incomplete', () => {
    expect(() => parseItems('{"id": "a"', URL_OF_ITEMS)).toThrow(/line 1: not valid JSON/);
    expect(() =>
      parseItems('{"id": "a", "image": "x.png", "question": "q"}', URL_OF_ITEMS),
    ).toThrow(/line 1: missing answer, type/);
    expect(() => parseItems('\n', URL_OF_ITEMS)).toThrow(/holds no items/);
  });
});

describe('scoreAnswers', () => {
  it('compares extracted answers, overall and per question type', () => {
    const item = (question: string, answer: string, type: string) => ({
      id: question,
      image: 'x',
      question,
      answer,
      type,
    });
    const items = [
      item('How many shapes are there?', '3', 'count'),
      item('How many shapes are there?', '2', 'count'),
      item(
        'What shape is red? A. star B. circle C. square D. diamond Answer with the letter.',
        'B',
        'mc',
      ),
      item('Is there a red star?', 'yes', 'presence'),
    ];
    // count: 1 of 2 right; mc: right; presence: wrong → 2 of 4.
    const score = scoreAnswers(items, ['3', '3', 'B', 'no']);
    expect(score.accuracy).toBe(0.5);
    expect(score.per_type).toEqual({ count: 0.5, mc: 1, presence: 0 });
  });
});
