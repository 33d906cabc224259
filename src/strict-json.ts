// A strict JSON parser for untrusted headers (safetensors). Unlike JSON.parse it refuses
// duplicate object keys, bounds the nesting depth, and keeps integers exact: a number is a JS
// number only when its text is a plain integer within the safe range; any other number (a
// fraction, an exponent, an integer beyond 2^53) comes back as a JsonOtherNumber holding its text.

/** A JSON number that is not a safe integer, kept as written. */
export class JsonOtherNumber {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type JsonValue = null | boolean | number | string | JsonOtherNumber | JsonValue[] | JsonObject;
/** Objects keep their key order (a Map); keys are unique. */
export type JsonObject = Map<string, JsonValue>;

/** A syntax error with the character offset where parsing stopped. */
export class JsonSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'JsonSyntaxError';
  }
}

const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const PLAIN_INTEGER = /^-?(0|[1-9][0-9]*)$/;

/** Parses `text` as one JSON value (surrounding whitespace allowed). Throws JsonSyntaxError. */
export function parseStrictJson(text: string, maxDepth = 64): JsonValue {
  let i = 0;

  const fail = (message: string): never => {
    throw new JsonSyntaxError(message, i);
  };
  const skipSpace = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  };
  const expect = (literal: string) => {
    if (!text.startsWith(literal, i)) fail(`expected '${literal}'`);
    i += literal.length;
  };

  const parseString = (): string => {
    i++; // opening quote
    let out = '';
    let start = i;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(start, i);
      const e = text[i + 1];
      i += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const hex = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          break;
        }
        default:
          i -= 2;
          fail('bad escape');
      }
      start = i;
    }
  };

  const parseValue = (depth: number): JsonValue => {
    skipSpace();
    if (i >= text.length) fail('unexpected end of input');
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth}`);
      i++;
      skipSpace();
      const close = c === '{' ? '}' : ']';
      const object: JsonObject = new Map();
      const array: JsonValue[] = [];
      if (text[i] === close) {
        i++;
        return c === '{' ? object : array;
      }
      for (;;) {
        if (c === '{') {
          skipSpace();
          if (text[i] !== '"') fail('expected a string key');
          const keyOffset = i;
          const key = parseString();
          if (object.has(key)) {
            i = keyOffset;
            fail(`duplicate key ${JSON.stringify(key)}`);
          }
          skipSpace();
          if (text[i] !== ':') fail("expected ':'");
          i++;
          object.set(key, parseValue(depth + 1));
        } else {
          array.push(parseValue(depth + 1));
        }
        skipSpace();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === close) {
          i++;
          return c === '{' ? object : array;
        }
        fail(`expected ',' or '${close}'`);
      }
    }
    if (c === '"') return parseString();
    if (c === 't') return expect('true'), true;
    if (c === 'f') return expect('false'), false;
    if (c === 'n') return expect('null'), null;
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m === null || m[0].length === 0) return fail('unexpected character');
    i += m[0].length;
    const numberText = m[0];
    if (PLAIN_INTEGER.test(numberText)) {
      const value = Number(numberText);
      if (Number.isSafeInteger(value) && !Object.is(value, -0)) return value;
    }
    return new JsonOtherNumber(numberText);
  };

  const value = parseValue(0);
  skipSpace();
  if (i !== text.length) fail('trailing characters after the JSON value');
  return value;
}
