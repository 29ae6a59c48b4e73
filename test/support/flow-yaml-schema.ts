// The documented shape of an Alibaba Cloud DevOps Flow YAML pipeline (help.aliyun.com, yunxiao: "YAML
// pipelines", "Syntax rules": sources, stages, jobs, steps, variables, cache), as a typebox schema. Flow
// publishes no schema file or linter, so the CI template test checks the generated pipeline against this:
// only documented keys, the required ones present, ids of letters, digits and underscores.
import { Type } from 'typebox';

const Id = '^[A-Za-z_][A-Za-z0-9_]*$';

const Source = Type.Object(
  {
    type: Type.Union([
      Type.Literal('codeup'),
      Type.Literal('github'),
      Type.Literal('gitlab'),
      Type.Literal('gitee'),
    ]),
    name: Type.String({ minLength: 1 }),
    endpoint: Type.String({ minLength: 1 }),
    branch: Type.String({ minLength: 1 }),
    triggerEvents: Type.Union([
      Type.Array(Type.Union([Type.Literal('push'), Type.Literal('tagPush'), Type.Literal('mergeRequest')]), {
        minItems: 1,
      }),
      Type.Union([Type.Literal('push'), Type.Literal('tagPush'), Type.Literal('mergeRequest')]),
    ]),
    certificate: Type.Optional(
      Type.Object(
        { type: Type.Literal('serviceConnection'), serviceConnection: Type.String({ minLength: 1 }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const Step = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    step: Type.String({ minLength: 1 }),
    with: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);

const Job = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    runsOn: Type.Union([
      Type.String({ minLength: 1 }),
      Type.Object(
        { group: Type.String({ minLength: 1 }), container: Type.Optional(Type.String({ minLength: 1 })) },
        { additionalProperties: false },
      ),
    ]),
    steps: Type.Record(Type.String({ pattern: Id }), Step, { additionalProperties: false, minProperties: 1 }),
  },
  { additionalProperties: false },
);

const Stage = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    jobs: Type.Record(Type.String({ pattern: Id }), Job, { additionalProperties: false, minProperties: 1 }),
  },
  { additionalProperties: false },
);

export const FlowPipelineSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    sources: Type.Record(Type.String({ pattern: Id }), Source, {
      additionalProperties: false,
      minProperties: 1,
    }),
    defaultWorkspace: Type.Optional(Type.String()),
    variableGroups: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    variables: Type.Optional(
      Type.Array(
        Type.Object({ key: Type.String(), value: Type.Unknown(), type: Type.Optional(Type.String()) }),
      ),
    ),
    cache: Type.Optional(
      Type.Object(
        {
          cacheDirs: Type.Array(Type.String({ pattern: '^/' }), { minItems: 1 }),
          cacheMode: Type.Union([Type.Literal('remote'), Type.Literal('local')]),
        },
        { additionalProperties: false },
      ),
    ),
    stages: Type.Record(Type.String({ pattern: Id }), Stage, {
      additionalProperties: false,
      minProperties: 1,
    }),
  },
  { additionalProperties: false },
);

/**
 * The documented rules for a custom cache directory: not /, /root, or /root/workspace and anything
 * under it, no `..`. Returns the directories that break them.
 */
export function badCacheDirs(dirs: readonly string[]): string[] {
  return dirs.filter(
    (d) =>
      d === '/' ||
      d.replace(/\/+$/, '') === '/root' ||
      /^\/root\/workspace(\/|$)/.test(d) ||
      d.split('/').includes('..'),
  );
}
