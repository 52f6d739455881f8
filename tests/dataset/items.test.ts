import { describe, expect, it } from 'vitest';
import {
  labeledItems,
  parseItems,
  readItems,
  scoreAnswers,
  UNTYPED,
} from '../../src/dataset/items';

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
        line: 1,
        image: 'http://127.0.0.1:4173/datasets/shapes/sketch/images/0000.png',
        question: 'What shape is green?',
        answer: 'square',
        type: 'shape',
      },
    ]);
  });
  it('names the line that is broken or incomplete', () => {
    expect(() => parseItems('{"id": "a"', URL_OF_ITEMS)).toThrow(/line 1: not valid JSON/);
    expect(() => parseItems('{"id": "a", "image": "x.png"}', URL_OF_ITEMS)).toThrow(
      /line 1: missing question/,
    );
    expect(() => parseItems('\n', URL_OF_ITEMS)).toThrow(/holds no items/);
  });
});

describe('readItems', () => {
  const line = (fields: Record<string, unknown>) => JSON.stringify(fields);

  it('needs only image and question; answer, type and id are optional', () => {
    const items = readItems(
      `${line({ image: './a.png', question: 'How many?' })}\n\n${line({ image: 'b.png', question: 'Color?', type: 'color' })}`,
      'mine/items.jsonl',
    );
    expect(items).toEqual([
      {
        id: 'line 1',
        line: 1,
        image: './a.png',
        question: 'How many?',
        answer: null,
        type: UNTYPED,
      },
      { id: 'line 3', line: 3, image: 'b.png', question: 'Color?', answer: null, type: 'color' },
    ]);
    expect(labeledItems(items)).toBeNull();
  });

  it('keeps labels when every line has one', () => {
    const items = readItems(
      [
        line({ image: 'a.png', question: 'q', answer: '3' }),
        line({ image: 'b.png', question: 'q', answer: 'red' }),
      ].join('\n'),
      'mine/items.jsonl',
    );
    expect(labeledItems(items)?.map((item) => item.answer)).toEqual(['3', 'red']);
  });

  it('names the file and the line of each malformed entry', () => {
    const good = line({ image: 'a.png', question: 'q' });
    const read = (text: string) => () => readItems(text, 'mine/items.jsonl');
    expect(read(`${good}\n{"image": "b.png",`)).toThrow(
      /^mine\/items\.jsonl, line 2: not valid JSON$/,
    );
    expect(read(`${good}\n[1, 2]`)).toThrow(/line 2: not a JSON object/);
    expect(read(`${good}\n${line({ question: 'q' })}`)).toThrow(/line 2: missing image$/);
    expect(read(line({ image: 'a.png', question: 'q', answer: 3 }))).toThrow(
      /line 1: answer must be text/,
    );
    expect(read(`${good}\n${line({ image: 'b.png', question: 'q', answer: 'red' })}`)).toThrow(
      /line 2: line 2 has an answer but line 1 has none: label every line or none/,
    );
    expect(read('  \n')).toThrow(/mine\/items\.jsonl holds no items/);
  });
});

describe('scoreAnswers', () => {
  it('compares extracted answers, overall and per question type', () => {
    const item = (question: string, answer: string, type: string) => ({
      id: question,
      line: 1,
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
