import type { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';

/** ajv-formats (`uri`, `date-time`, …) for an Ajv instance. It is CommonJS; its default export arrives wrapped under NodeNext. */
export const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
