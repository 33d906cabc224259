import { describe, expect, test } from 'vitest';
import { Rng } from '../src/random.js';
import { JsonOtherNumber, JsonSyntaxError, parseStrictJson, type JsonValue } from '../src/strict-json.js';

/** Back to plain JS values (objects from Maps, other numbers as numbers) to compare with JSON.parse. */
function plain(value: JsonValue): unknown {
  if (value instanceof Map) return Object.fromEntries(Array.from(value, ([k, v]) => [k, plain(v)]));
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof JsonOtherNumber) return Number(value.text);
  return value;
}

function randomValue(rng: Rng, depth: number): unknown {
  const kind = rng.int(depth > 3 ? 4 : 6);
  if (kind === 0) return rng.int(3) === 0 ? null : rng.int(2) === 0;
  if (kind === 1) return [rng.int(2 ** 32) - 2 ** 31, (rng.uniform() - 0.5) * 10 ** rng.int(30), rng.int(1000)][rng.int(3)];
  if (kind === 2 || kind === 3) {
    const chars = 'aZ09 "\\/\b\f\n\r\t\u0001é✓😀';
    return Array.from({ length: rng.int(8) }, () => chars[rng.int(chars.length)]).join('');
  }
  if (kind === 4) return Array.from({ length: rng.int(5) }, () => randomValue(rng, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = rng.int(5); i > 0; i--) o[`k${rng.int(100)}`] = randomValue(rng, depth + 1);
  return o;
}

describe('parseStrictJson', () => {
  test('agrees with JSON.parse on random valid documents (with whitespace)', () => {
    const rng = new Rng(8);
    for (let i = 0; i < 500; i++) {
      const value = randomValue(rng, 0);
      const text = JSON.stringify(value, null, rng.int(2) === 0 ? undefined : 2);
      expect(plain(parseStrictJson(` \n${text}\t`))).toEqual(JSON.parse(text));
    }
  });

  test('objects keep key order, including integer-like keys', () => {
    const o = parseStrictJson('{"b":1,"10":2,"a":3,"2":4}') as Map<string, JsonValue>;
    expect(Array.from(o.keys())).toEqual(['b', '10', 'a', '2']);
  });

  test('numbers: safe integers are numbers, everything else keeps its text', () => {
    expect(parseStrictJson('[0, 42, -7, 9007199254740991]')).toEqual([0, 42, -7, 9007199254740991]);
    for (const text of ['9007199254740992', '18446744073709551615', '1.0', '1e3', '-0', '0.5', '-1E-2']) {
      const v = parseStrictJson(text);
      expect(v).toBeInstanceOf(JsonOtherNumber);
      expect(String(v)).toBe(text);
    }
  });

  test('refuses duplicates, bad syntax, deep nesting; reports the offset', () => {
    const bad: [string, RegExp][] = [
      ['{"a":1,"a":2}', /duplicate key "a" at offset 7/],
      ['{"a":1,}', /expected a string key/],
      ['[1,]', /unexpected character/],
      ['[1 2]', /expected ',' or '\]'/],
      ['01', /trailing characters/],
      ['"abc', /unterminated string/],
      ['"a\u0001"', /control character/],
      ['"\\x"', /bad escape/],
      ['"\\u12G4"', /bad \\u escape/],
      ['tru', /expected 'true'/],
      ['{"a" 1}', /expected ':'/],
      ['', /unexpected end of input/],
      ['NaN', /unexpected character/],
      ['+1', /unexpected character/],
      ['[' .repeat(65) + ']'.repeat(65), /nesting deeper than 64/],
    ];
    for (const [text, pattern] of bad) {
      expect(() => parseStrictJson(text), text).toThrow(JsonSyntaxError);
      expect(() => parseStrictJson(text), text).toThrow(pattern);
    }
    expect(parseStrictJson('['.repeat(64) + ']'.repeat(64))).toBeDefined();
  });
});
