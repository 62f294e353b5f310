/** `npm run schema`: writes access.config.schema.json from the zod validator, so editors check the file as it is typed. */
import { writeFileSync } from 'node:fs';
import { accessConfigJsonSchema } from '../config.js';

export const SCHEMA_FILE = 'access.config.schema.json';

export function configSchemaText(): string {
  return `${JSON.stringify(accessConfigJsonSchema(), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(SCHEMA_FILE, configSchemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
