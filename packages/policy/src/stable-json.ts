/**
 * JSON with object keys sorted, so two requests that differ only in key order share a
 * cache entry. Values that JSON cannot represent faithfully make the input uncacheable.
 */
export function stableJson(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : undefined;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        const parts: string[] = [];
        for (const v of value) {
          const s = stableJson(v);
          if (s === undefined) return undefined;
          parts.push(s);
        }
        return `[${parts.join(',')}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return undefined;
      const rec = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const k of Object.keys(rec).sort()) {
        if (rec[k] === undefined) continue;
        const s = stableJson(rec[k]);
        if (s === undefined) return undefined;
        parts.push(`${JSON.stringify(k)}:${s}`);
      }
      return `{${parts.join(',')}}`;
    }
    case 'undefined':
    case 'bigint':
    case 'function':
    case 'symbol':
      return undefined;
  }
}
