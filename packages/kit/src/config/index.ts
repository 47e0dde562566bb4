export { addFormats } from './ajv-formats.js';
export { type BaseConfig, baseConfigSchema } from './base-config.js';
export { loadConfig } from './load-config.js';
export { parseYaml } from './yaml.js';
