// Dataset mode (docs/ttrv.md §3): a split's items and how answers are scored. Labels are read only to
// score greedy answers, never to reward them: the reward stays unsupervised.
import { extractAnswer } from '../rl/answers';
import { mean } from '../rl/stats';
import { datasetError } from './errors';

export type DatasetItem = {
  id: string;
  /** Line of items.jsonl it came from, for error messages. */
  line: number;
  /** The image as written in items.jsonl, relative to its folder; parseItems resolves it to a URL. */
  image: string;
  question: string;
  /** The label, used only to score; null in an unlabeled folder. */
  answer: string | null;
  type: string;
};

export type LabeledItem = DatasetItem & { answer: string };

/** The question type of an item whose line names none. */
export const UNTYPED = 'untyped';

/** A field that may be absent (null) but must be text when given. */
function optionalText(record: Record<string, unknown>, field: string, where: string) {
  const value = record[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw datasetError(`${where}: ${field} must be text`);
  return value;
}

/**
 * Items from the text of an `items.jsonl`, one JSON object per line: `image` (a path relative to
 * the file's folder) and `question` required; `answer`, `type` and `id` optional, and either every
 * line has an answer or none does. Errors name `fileName` and the line.
 */
export function readItems(jsonl: string, fileName: string): DatasetItem[] {
  const items: DatasetItem[] = [];
  for (const [index, text] of jsonl.split('\n').entries()) {
    if (!text.trim()) continue;
    const line = index + 1;
    const where = `${fileName}, line ${line}`;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw datasetError(`${where}: not valid JSON`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw datasetError(`${where}: not a JSON object`);
    }
    const record = value as Record<string, unknown>;
    const missing = ['image', 'question'].filter((field) => typeof record[field] !== 'string');
    if (missing.length > 0) throw datasetError(`${where}: missing ${missing.join(', ')}`);
    const answer = optionalText(record, 'answer', where);
    const first = items[0];
    if (first && (first.answer === null) !== (answer === null)) {
      const [has, hasNot] = answer === null ? [first.line, line] : [line, first.line];
      throw datasetError(
        `${where}: line ${has} has an answer but line ${hasNot} has none: label every line or none`,
      );
    }
    items.push({
      id: optionalText(record, 'id', where) ?? `line ${line}`,
      line,
      image: record.image as string,
      question: record.question as string,
      answer,
      type: optionalText(record, 'type', where) ?? UNTYPED,
    });
  }
  if (items.length === 0) throw datasetError(`${fileName} holds no items`);
  return items;
}

/** A served split's items, image paths resolved against the URL of its `items.jsonl`. */
export function parseItems(jsonl: string, itemsUrl: string): DatasetItem[] {
  return readItems(jsonl, itemsUrl).map((item) => ({
    ...item,
    image: new URL(item.image, itemsUrl).href,
  }));
}

/** The items if every one has a label (then accuracy can be scored), else null. */
export function labeledItems(items: readonly DatasetItem[]): LabeledItem[] | null {
  return items.every((item) => item.answer !== null) ? (items as LabeledItem[]) : null;
}

/** An item's label as the answer it is compared with: extracted the way completions are. */
export function labelAnswer(item: LabeledItem): string {
  return extractAnswer(item.answer, item.question);
}

export type Accuracy = { accuracy: number; per_type: Record<string, number> };

/** Share of answers equal to the label, extracted the same way, overall and per question type. */
export function scoreAnswers(items: readonly LabeledItem[], answers: readonly string[]): Accuracy {
  const hits = items.map((item, i) => (answers[i] === labelAnswer(item) ? 1 : 0));
  const types = [...new Set(items.map((item) => item.type))].sort();
  const per_type = Object.fromEntries(
    types.map((type) => [type, mean(hits.filter((_, i) => items[i]?.type === type))]),
  );
  return { accuracy: mean(hits), per_type };
}
