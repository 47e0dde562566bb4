import { FormatRegistry } from '@sinclair/typebox';
import formatsModule from 'ajv-formats/dist/formats.js';

type AjvFormat = RegExp | ((value: string) => boolean) | { validate: RegExp | ((value: string) => boolean) };

// CommonJS: under NodeNext its exports arrive as the default export.
const { fullFormats } = formatsModule as unknown as { fullFormats: Record<string, AjvFormat | true> };

function checkOf(format: AjvFormat): (value: string) => boolean {
  const validate = format instanceof RegExp || typeof format === 'function' ? format : format.validate;
  return validate instanceof RegExp ? (value) => validate.test(value) : validate;
}

/**
 * Registers ajv-formats' string formats (`uuid`, `date-time`, `email`, `uri`, …) with
 * TypeBox, so a message schema's `format` is checked. TypeBox knows no formats of its
 * own and refuses every value of a format it does not know, so without this a
 * `Type.String({ format: 'uuid' })` would refuse every message. The same checks Ajv (the
 * kit's routes and config) applies. A format someone registered already is left alone.
 */
export function registerFormats(): void {
  for (const [name, format] of Object.entries(fullFormats)) {
    if (format === true || FormatRegistry.Has(name)) continue;
    FormatRegistry.Set(name, checkOf(format));
  }
}
