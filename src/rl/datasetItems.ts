// Dataset mode (spec §3): a split's items and how answers are scored. Labels are read only to
// score greedy answers, never to reward them: the reward stays unsupervised.
import { extractAnswer } from './answers';
import { mean } from './stats';

export type DatasetItem = {
  id: string;
  /** URL of the image (relative entries in items.jsonl resolve against the split's folder). */
  image: string;
  question: string;
  answer: string;
  type: string;
};

const REQUIRED_FIELDS = ['id', 'image', 'question', 'answer', 'type'] as const;

/** Items of a split from its `items.jsonl`, one JSON object per line, with clear errors. */
export function parseItems(jsonl: string, itemsUrl: string): DatasetItem[] {
  const items: DatasetItem[] = [];
  for (const [index, line] of jsonl.split('\n').entries()) {
    if (!line.trim()) continue;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`${itemsUrl}, line ${index + 1}: not valid JSON`);
    }
    const missing = REQUIRED_FIELDS.filter((field) => typeof value[field] !== 'string');
    if (missing.length > 0) {
      throw new Error(`${itemsUrl}, line ${index + 1}: missing ${missing.join(', ')}`);
    }
    items.push({
      id: value.id as string,
      image: new URL(value.image as string, itemsUrl).href,
      question: value.question as string,
      answer: value.answer as string,
      type: value.type as string,
    });
  }
  if (items.length === 0) throw new Error(`${itemsUrl} holds no items`);
  return items;
}

export type Accuracy = { accuracy: number; per_type: Record<string, number> };

/** Share of answers equal to the label, extracted the same way, overall and per question type. */
export function scoreAnswers(items: readonly DatasetItem[], answers: readonly string[]): Accuracy {
  const hits = items.map((item, i) =>
    answers[i] === extractAnswer(item.answer, item.question) ? 1 : 0,
  );
  const types = [...new Set(items.map((item) => item.type))].sort();
  const per_type = Object.fromEntries(
    types.map((type) => [type, mean(hits.filter((_, i) => items[i]?.type === type))]),
  );
  return { accuracy: mean(hits), per_type };
}
