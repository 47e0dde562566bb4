/**
 * JSON with object keys sorted, so two values that differ only in key order give the
 * same text: the policy decision cache's key, and the kit's audit record hash. Values
 * that JSON cannot represent faithfully (`undefined` in an array, a non-finite number,
 * a `Date` or other class instance) give `undefined`.
 *
 * @example
 * stableJson({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
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
