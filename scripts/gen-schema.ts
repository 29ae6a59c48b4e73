// Writes releases.schema.json from the typebox schema. Run after changing pipeline/config/schema.ts:
//   npx tsx scripts/gen-schema.ts
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { releasesJsonSchema } from '../pipeline/config/json-schema';
import { PACKAGE_ROOT } from '../pipeline/config/load';

const out = resolve(PACKAGE_ROOT, 'releases.schema.json');
writeFileSync(out, releasesJsonSchema());
console.log(`wrote ${out}`);
