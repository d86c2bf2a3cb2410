/**
 * Assembles one JSON value from the tokenizer's packed tokens (jsonTokens.ts), like JSON.parse would
 * (a `__proto__` key stays an own property). In skip mode it only follows nesting, so
 * unknown parts of a document cost no memory.
 */
import type { JsonToken } from './jsonTokens';

type Container = Record<string, unknown> | unknown[];

export interface BuildLimits {
  maxNodes: number;
  maxChars: number;
  tooManyNodes: () => Error;
  tooLong: () => Error;
}

/** The tokens that build a value or an object key (what bounds.ts counts as nodes). */
const NODE_TOKENS = new Set(['startObject', 'startArray', 'keyValue', 'stringValue', 'numberValue', 'nullValue', 'trueValue', 'falseValue']);

export class ValueBuilder {
  private readonly stack: Array<{ container: Container | null; key: string | undefined }> = [];
  private key: string | undefined;
  private nodes = 0;
  /** The assembled value, once `push` returned true (undefined in skip mode). */
  result: unknown;

  private chars = 0;

  /**
   * `limits`: the most values and object keys the value may have, and the most characters its strings, keys
   * and numbers may hold together; the error is thrown at the token that passes one, before it is added
   * (skip mode builds nothing and counts nothing).
   */
  constructor(private readonly skip = false, private readonly limits?: BuildLimits) {}

  /** Feeds one token; returns true when the value is complete. */
  push(t: JsonToken): boolean {
    if (this.limits && !this.skip && NODE_TOKENS.has(t.name)) {
      if (++this.nodes > this.limits.maxNodes) throw this.limits.tooManyNodes();
      const text = 'value' in t ? t.value : undefined;
      if (typeof text === 'string' && (this.chars += text.length) > this.limits.maxChars) throw this.limits.tooLong();
    }
    switch (t.name) {
      case 'startObject':
      case 'startArray':
        this.stack.push({
          container: this.skip ? null : t.name === 'startObject' ? {} : [],
          key: this.key,
        });
        this.key = undefined;
        return false;
      case 'endObject':
      case 'endArray': {
        const top = this.stack.pop()!;
        this.key = top.key;
        return this.add(top.container);
      }
      case 'keyValue':
        this.key = t.value;
        return false;
      case 'stringValue':
        return this.add(t.value);
      case 'numberValue':
        return this.add(Number(t.value)); // same rounding as JSON.parse
      case 'nullValue':
      case 'trueValue':
      case 'falseValue':
        return this.add(t.value);
      default:
        return false; // streamed pieces and whitespace: not produced with packed-only options
    }
  }

  private add(value: unknown): boolean {
    const parent = this.stack[this.stack.length - 1];
    if (!parent) {
      if (!this.skip) this.result = value;
      return true;
    }
    const c = parent.container;
    if (c === null) return false;
    if (Array.isArray(c)) c.push(value);
    else if (this.key === '__proto__') {
      Object.defineProperty(c, '__proto__', { value, enumerable: true, writable: true, configurable: true });
    } else c[this.key!] = value;
    return false;
  }
}
