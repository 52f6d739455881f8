// Sampling: chooseToken's filters on hand-made rows, and sample() on a tiny random model (Wasm)
// against fresh full forwards (greedy), teacher-forced log-probs and the float64 host reference.
import { defaultDevice, init, numpy as np, tree } from '@jax-js/jax';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headMatrix, logits, prefill } from '../../src/engine/decoder';
import { embedTokens, prefixInputs } from '../../src/engine/inputs';
import { initLora } from '../../src/engine/lora';
import type { Adapter, TextModel } from '../../src/engine/model';
import { disposeModel, specOf } from '../../src/engine/model';
import { chooseToken, NonFiniteLogitsError, sample } from '../../src/engine/sampling';
import { completionLogprobs } from '../../src/engine/train';
import { randomWeights } from '../../src/engine/weights';
import { DEFAULT_LORA_SETTINGS } from '../../src/layout/loraSettings';
import { seededRandom } from '../../src/random';
import { host, loraWithNonZeroB, tinyConfig, toRefLora, toRefWeights } from './helpers';
import { argmax, logSoftmax, refEmbed, refLogits } from './reference';

describe('seededRandom', () => {
  it('is deterministic, uniform-ish in [0, 1), and differs between seeds', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 2000 }, () => a());
    expect(Array.from({ length: 2000 }, () => b())).toEqual(xs);
    expect(c()).not.toBe(xs[0]);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.03);
  });
});

describe('chooseToken', () => {
  // Probabilities at T = 1: 0.5, 0.25, 0.15, 0.07, 0.03.
  const probs = [0.07, 0.5, 0.03, 0.25, 0.15];
  const row = probs.map(Math.log);
  const draws = (opts: Parameters<typeof chooseToken>[1], n = 4000) => {
    const random = seededRandom(7);
    const counts = new Array<number>(row.length).fill(0);
    for (let i = 0; i < n; i++) {
      const { token } = chooseToken(row, opts, random);
      counts[token] = (counts[token] as number) + 1;
    }
    return counts.map((c) => c / n);
  };

  it('is argmax at temperature 0 with the untempered log-prob, without drawing', () => {
    let calls = 0;
    const out = chooseToken(row, { temperature: 0, topK: 3, topP: 0.1 }, () => {
      calls++;
      return 0.99;
    });
    expect(out.token).toBe(1);
    expect(out.logprob).toBeCloseTo(Math.log(0.5), 12);
    expect(calls).toBe(0);
  });

  it('reports the log-prob under softmax(logits / T) before filtering', () => {
    const t = 0.7;
    const expected = logSoftmax(row, t);
    for (const u of [0, 0.3, 0.6, 0.999]) {
      const out = chooseToken(row, { temperature: t, topK: 2, topP: 0.6 }, () => u);
      expect(out.logprob).toBeCloseTo(expected[out.token] as number, 12);
    }
  });

  it('top-p keeps the smallest most-likely set reaching p (TopPLogitsWarper)', () => {
    // Ascending: 0.03 (cum 0.03), 0.07 (0.10), 0.15 (0.25), 0.25 (0.50), 0.5 (1.0).
    // p = 0.74: drop while cum ≤ 0.26 → keep {0.5, 0.25} = tokens 1 and 3.
    const f = draws({ temperature: 1, topP: 0.74 });
    expect(f[0]).toBe(0);
    expect(f[2]).toBe(0);
    expect(f[4]).toBe(0);
    expect(f[1]).toBeCloseTo(2 / 3, 1);
    expect(f[3]).toBeCloseTo(1 / 3, 1);
    // p = 0.76: cum 0.25 ≤ 0.24 is false → token 4 (0.15) stays too.
    const g = draws({ temperature: 1, topP: 0.76 });
    expect(g[4]).toBeGreaterThan(0.1);
    expect(g[0]).toBe(0);
    // A tiny p keeps only the most likely token.
    expect(draws({ temperature: 1, topP: 1e-6 }, 200)[1]).toBe(1);
  });

  it('top-k keeps the k largest, then samples in proportion', () => {
    const f = draws({ temperature: 1, topK: 2 });
    expect(f[0] === 0 && f[2] === 0 && f[4] === 0).toBe(true);
    expect(f[1]).toBeCloseTo(2 / 3, 1);
    expect(draws({ temperature: 1, topK: 1 }, 200)[1]).toBe(1);
  });

  it('without filters follows softmax(logits / T)', () => {
    const t = 2;
    const expected = Array.from(logSoftmax(row, t), Math.exp);
    const f = draws({ temperature: t, topK: null, topP: 1 }, 20000);
    for (const [i, x] of f.entries()) {
      expect(Math.abs(x - (expected[i] as number))).toBeLessThan(0.015);
    }
  });

  it('refuses NaN or infinite logits with a clear error instead of choosing a token', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const broken = [...row.slice(0, 2), bad, ...row.slice(3)];
      for (const opts of [{ temperature: 0 }, { temperature: 1, topK: 2, topP: 0.9 }]) {
        expect(() => chooseToken(broken, opts, () => 0.5)).toThrow(NonFiniteLogitsError);
      }
    }
    expect(() => chooseToken([Number.NaN], { temperature: 0 }, () => 0.5)).toThrow(
      /non-finite logits \(NaN\/Infinity\): the adapter may have diverged; reset or re-import it/,
    );
  });
});

describe('sample (Wasm, tiny model)', () => {
  let model: TextModel;
  let adapter: Adapter;
  let promptEmbeds: np.Array;
  const promptIds = [3, 7, 11, 2, 5, 9];

  beforeAll(async () => {
    await init('wasm');
    defaultDevice('wasm');
    const config = tinyConfig();
    model = {
      config,
      weights: randomWeights(config, 11, { std: 0.3 }),
      textPrefix: 'model.',
      format: 'f32',
    };
    const loraConfig = { ...DEFAULT_LORA_SETTINGS, r: 4, lora_alpha: 8 };
    const params = loraWithNonZeroB(config, loraConfig, 5, 0.2);
    adapter = { config: loraConfig, params };
    promptEmbeds = embedTokens(model.weights.embed, [promptIds]);
  });

  afterAll(() => {
    promptEmbeds.dispose();
    tree.dispose(adapter.params);
    disposeModel(model);
  });

  /** Last-position logits of a fresh, uncached, unpadded forward of prompt + completion. */
  async function freshLogits(a: Adapter | null, completion: number[]): Promise<Float64Array> {
    const ids = [...promptIds, ...completion];
    const embeds = embedTokens(model.weights.embed, [ids]);
    const input = prefixInputs(embeds, ids.length, model.config, {});
    const head = headMatrix(tree.ref({ embed: model.weights.embed, lmHead: model.weights.lmHead }));
    const { hidden, kv } = prefill(
      specOf(model, a),
      tree.ref(model.weights),
      a ? tree.ref(a.params) : null,
      input,
    );
    tree.dispose(kv);
    const last = hidden.slice([], [ids.length - 1, ids.length]);
    return host(logits(last, head).reshape([-1]));
  }

  for (const withAdapter of [false, true]) {
    it(`greedy tokens are the argmax of a fresh full forward at every step (adapter ${withAdapter ? 'on' : 'off'})`, async () => {
      const a = withAdapter ? adapter : null;
      const maxNewTokens = 12;
      const out = await sample(model, a, promptEmbeds, {
        numRows: 3,
        maxNewTokens,
        temperature: 0,
        seed: 0,
        eosTokenIds: [],
      });
      expect(out.tokens).toHaveLength(3);
      // Greedy rows are identical.
      expect(out.tokens[1]).toEqual(out.tokens[0]);
      expect(out.tokens[2]).toEqual(out.tokens[0]);
      const tokens = out.tokens[0] as number[];
      expect(tokens).toHaveLength(maxNewTokens);
      // Not a degenerate repetition: the cache and positions matter.
      expect(new Set(tokens).size).toBeGreaterThan(3);
      const ref = await toRefWeights(model.weights);
      const refLora = a ? await toRefLora(a.params, 2) : null;
      const refAll = refLogits(
        model.config,
        ref,
        refLora,
        refEmbed(ref, [...promptIds, ...tokens]),
      );
      for (let t = 0; t < maxNewTokens; t++) {
        const z = await freshLogits(a, tokens.slice(0, t));
        expect(tokens[t]).toBe(argmax(z));
        expect(out.logprobs[0]?.[t]).toBeCloseTo(logSoftmax(z)[tokens[t] as number] as number, 4);
        // And the float64 host reference agrees with the engine's logits.
        const r = refAll[promptIds.length - 1 + t] as Float64Array;
        let err = 0;
        for (let v = 0; v < r.length; v++)
          err = Math.max(err, Math.abs((r[v] as number) - (z[v] as number)));
        expect(err).toBeLessThan(1e-3);
      }
    });
  }

  it('sampled log-probs equal teacher-forced ones (temperature, top-k, top-p, adapter)', async () => {
    const temperature = 0.8;
    const out = await sample(model, adapter, promptEmbeds, {
      numRows: 5,
      maxNewTokens: 9,
      temperature,
      topK: 20,
      topP: 0.95,
      seed: 123,
      eosTokenIds: [],
    });
    // Rows differ: this is sampling, not five copies of greedy.
    expect(new Set(out.tokens.map((r) => r.join(','))).size).toBeGreaterThan(1);
    const tf = await completionLogprobs(model, adapter, promptEmbeds, out.tokens, { temperature });
    out.tokens.forEach((row, r) => {
      expect(row).toHaveLength(9);
      row.forEach((_, t) => {
        expect(out.logprobs[r]?.[t]).toBeCloseTo(tf.logprobs[r]?.[t] as number, 4);
      });
    });
  });

  it('rejects an adapter that makes the logits NaN, and the model still samples after', async () => {
    const loraConfig = { ...DEFAULT_LORA_SETTINGS, r: 4, lora_alpha: 8 };
    const params = initLora(model.config, loraConfig, 5);
    for (const layer of params.layers) {
      for (const pair of Object.values(layer)) {
        const b = pair.b;
        pair.b = np.full(b.shape, Number.NaN);
        b.dispose();
      }
    }
    const opts = { numRows: 2, maxNewTokens: 4, temperature: 1, seed: 3 };
    await expect(sample(model, { config: loraConfig, params }, promptEmbeds, opts)).rejects.toThrow(
      NonFiniteLogitsError,
    );
    tree.dispose(params);
    const { tokens } = await sample(model, adapter, promptEmbeds, opts);
    expect(tokens.every((row) => row.length > 0 && row.every((t) => t >= 0))).toBe(true);
  });

  it('is reproducible from the seed; another seed gives other tokens', async () => {
    const opts = { numRows: 4, maxNewTokens: 8, temperature: 1, seed: 99, eosTokenIds: [] };
    const a = await sample(model, null, promptEmbeds, opts);
    const b = await sample(model, null, promptEmbeds, opts);
    const c = await sample(model, null, promptEmbeds, { ...opts, seed: 100 });
    expect(b.tokens).toEqual(a.tokens);
    expect(b.logprobs).toEqual(a.logprobs);
    expect(c.tokens).not.toEqual(a.tokens);
  });

  it('top-k 1 is greedy at any temperature', async () => {
    const greedy = await sample(model, adapter, promptEmbeds, {
      numRows: 2,
      maxNewTokens: 7,
      temperature: 0,
      seed: 1,
      eosTokenIds: [],
    });
    const topOne = await sample(model, adapter, promptEmbeds, {
      numRows: 2,
      maxNewTokens: 7,
      temperature: 1.5,
      topK: 1,
      seed: 1,
      eosTokenIds: [],
    });
    expect(topOne.tokens).toEqual(greedy.tokens);
  });

  it('stops each row at its EOS (included) and all rows when every row has stopped', async () => {
    const opts = { numRows: 6, maxNewTokens: 10, temperature: 1.2, seed: 5 };
    const free = await sample(model, null, promptEmbeds, { ...opts, eosTokenIds: [] });
    // Row 0 is the first drawn at each step, so its tokens do not depend on other rows stopping.
    const eosToken = free.tokens[0]?.[3] as number;
    const out = await sample(model, null, promptEmbeds, { ...opts, eosTokenIds: [eosToken] });
    const row0 = out.tokens[0] as number[];
    const firstEos = (free.tokens[0] as number[]).indexOf(eosToken);
    expect(row0).toEqual(free.tokens[0]?.slice(0, firstEos + 1));
    for (const [r, row] of out.tokens.entries()) {
      expect(row.length).toBeGreaterThan(0);
      expect(row.length).toBeLessThanOrEqual(10);
      expect(out.logprobs[r]).toHaveLength(row.length);
      const at = row.indexOf(eosToken);
      if (at >= 0) expect(at).toBe(row.length - 1);
      else expect(row).toHaveLength(10);
    }
    // Default EOS ids come from the config; a prompt that forces none still ends by length.
    const all = await sample(model, null, promptEmbeds, {
      ...opts,
      eosTokenIds: Array.from({ length: model.config.vocabSize }, (_, i) => i),
    });
    expect(all.tokens.every((row) => row.length === 1)).toBe(true);
  });

  it('leaves the prompt embeddings usable (borrowed) and handles maxNewTokens 0 and 1', async () => {
    const before = await host(promptEmbeds);
    const none = await sample(model, null, promptEmbeds, {
      numRows: 2,
      maxNewTokens: 0,
      temperature: 1,
      seed: 0,
    });
    expect(none.tokens).toEqual([[], []]);
    const one = await sample(model, null, promptEmbeds, {
      numRows: 2,
      maxNewTokens: 1,
      temperature: 0,
      seed: 0,
    });
    expect(one.tokens.every((r) => r.length === 1)).toBe(true);
    expect(Array.from(await host(promptEmbeds))).toEqual(Array.from(before));
  });
});
