// releases.schema.json, the file editors use to complete and check releases.yaml. Generated from the same
// typebox schema the loader validates with (scripts/gen-schema.ts writes it; a test keeps it in sync).
// yaml-language-server shows our `errorMessage` annotations as the error text, like ajv-errors.
import { ReleasesSchema } from './schema';

export function releasesJsonSchema(): string {
  const schema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Ferry releases.yaml',
    description:
      'Release pipeline config for ferry: the app, the registry, the signing key, the environments.',
    ...JSON.parse(JSON.stringify(ReleasesSchema)),
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}
