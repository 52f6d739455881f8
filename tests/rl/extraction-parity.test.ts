// The demo model's eval.json scores answers with tools/demo-model/evaluate.py; the app scores them
// with src/rl/answers.ts. Both must extract the same answer from the same reply (docs/ttrv.md §2): the
// Python side wrote its extraction of every reply form of a few test items and of some edge cases
// to tests/fixtures/golden/extraction_reference.json (tools/demo-model/build.py).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractAnswer } from '../../src/rl/answers';

type Row = { completion: string; question: string; answer: string };
const reference = JSON.parse(
  readFileSync(new URL('../fixtures/golden/extraction_reference.json', import.meta.url), 'utf8'),
) as { rows: Row[] };

describe('answer extraction: evaluate.py = src/rl/answers.ts', () => {
  it('gives the same answer for every reference reply', () => {
    expect(reference.rows.length).toBeGreaterThan(200);
    const differing = reference.rows
      .map((row) => ({ ...row, ts: extractAnswer(row.completion, row.question) }))
      .filter((row) => row.ts !== row.answer);
    expect(differing).toEqual([]);
  });
});
