/**
 * `npm run schema`: writes access.config.schema.json (editors check the config as it is typed) and the
 * README's reference tables, both from the zod validators.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { accessConfigJsonSchema } from '../config.js';
import { withReference } from './config-reference.js';

export const SCHEMA_FILE = 'access.config.schema.json';

export function configSchemaText(): string {
  return `${JSON.stringify(accessConfigJsonSchema(), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(SCHEMA_FILE, configSchemaText());
  writeFileSync('README.md', withReference(readFileSync('README.md', 'utf8')));
  process.stdout.write(`wrote ${SCHEMA_FILE} and the reference in README.md\n`);
}
