/**
 * LVM2's text metadata (`key = value`, `name { … }`, `[a, b]`, `#` comments) parsed into plain
 * objects. Bounded: the text is at most what the metadata area holds, nesting and item counts are
 * capped, so a hostile text costs at most a few MiB.
 */
export type ConfigValue = string | number | ConfigValue[] | ConfigSection;
export interface ConfigSection {
  [key: string]: ConfigValue;
}

const MAX_DEPTH = 32;
const MAX_ITEMS = 1_000_000;

export class MetadataSyntaxError extends Error {}

export function parseMetadataText(text: string): ConfigSection {
  let at = 0;
  let items = 0;

  const fail = (what: string): never => {
    const line = text.slice(0, at).split('\n').length;
    throw new MetadataSyntaxError(`line ${line}: ${what}`);
  };

  const skip = (): void => {
    while (at < text.length) {
      const c = text[at]!;
      if (c === '#') {
        const nl = text.indexOf('\n', at);
        at = nl < 0 ? text.length : nl + 1;
      } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\0') at++;
      else return;
    }
  };

  const identifier = (): string => {
    const m = /^[A-Za-z0-9_.+-]+/.exec(text.slice(at, at + 1024));
    if (!m) fail(`expected a name, found ${JSON.stringify(text.slice(at, at + 10))}`);
    at += m![0].length;
    return m![0];
  };

  const string = (): string => {
    at++; // opening quote
    let out = '';
    for (;;) {
      if (at >= text.length) fail('unterminated string');
      const c = text[at++]!;
      if (c === '"') return out;
      if (c === '\\' && at < text.length) out += text[at++]!;
      else out += c;
    }
  };

  const value = (depth: number): ConfigValue => {
    if (++items > MAX_ITEMS) fail('too many items');
    skip();
    const c = text[at];
    if (c === '"') return string();
    if (c === '[') {
      if (depth >= MAX_DEPTH) fail('nested too deeply');
      at++;
      const list: ConfigValue[] = [];
      for (;;) {
        skip();
        if (text[at] === ']') {
          at++;
          return list;
        }
        list.push(value(depth + 1));
        skip();
        if (text[at] === ',') at++;
        else if (text[at] !== ']') fail('expected "," or "]"');
      }
    }
    const m = /^-?[0-9]+(\.[0-9]+)?/.exec(text.slice(at, at + 64));
    if (!m) fail(`expected a value, found ${JSON.stringify(text.slice(at, at + 10))}`);
    at += m![0].length;
    return Number(m![0]);
  };

  const section = (depth: number, closing: boolean): ConfigSection => {
    if (depth > MAX_DEPTH) fail('nested too deeply');
    const out: ConfigSection = Object.create(null) as ConfigSection;
    for (;;) {
      skip();
      if (at >= text.length) {
        if (closing) fail('missing "}"');
        return out;
      }
      if (text[at] === '}') {
        if (!closing) fail('unexpected "}"');
        at++;
        return out;
      }
      if (++items > MAX_ITEMS) fail('too many items');
      const key = identifier();
      skip();
      if (text[at] === '{') {
        at++;
        out[key] = section(depth + 1, true);
      } else if (text[at] === '=') {
        at++;
        out[key] = value(depth);
      } else fail(`expected "=" or "{" after ${key}`);
    }
  };

  return section(0, false);
}
