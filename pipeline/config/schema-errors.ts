// Turns typebox's validation errors (JSON pointers, keyword names) into one readable line per bad key.
// typebox reports every failed branch of a union; we collapse those into the union's own message, and for
// the registry (a union told apart by `type`) we validate against the branch the user picked instead.
import type { TSchema } from 'typebox';
import { Settings } from 'typebox/system';
import { Value } from 'typebox/value';
import { type Problem, pointerToPath, suggest } from './problems';

interface SchemaError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

type Node = Record<string, unknown>;

export function schemaProblems(schema: TSchema, data: unknown, base: (string | number)[] = []): Problem[] {
  const errors = collectErrors(schema, data);
  const unions = errors.filter((e) => e.keyword === 'anyOf');
  const problems: Problem[] = [];
  for (const e of errors) {
    // Branch failures under a failed union are summarised by the union's own error.
    if (unions.some((u) => u !== e && e.schemaPath.startsWith(`${u.schemaPath}/anyOf/`))) continue;
    if (e.keyword === 'additionalProperties') continue; // reported per key via the `boolean` error
    problems.push(...describe(schema, data, e, base));
  }
  return dedupe(problems);
}

function collectErrors(schema: TSchema, data: unknown): SchemaError[] {
  // typebox buffers 8 errors by default; a config file deserves the full list. The setting is global, so
  // restore it for anyone else in the process.
  const saved = Settings.Get().maxErrors;
  Settings.Set({ maxErrors: 200 });
  try {
    return [...Value.Errors(schema, data)] as unknown as SchemaError[];
  } finally {
    Settings.Set({ maxErrors: saved });
  }
}

function describe(root: TSchema, data: unknown, e: SchemaError, base: (string | number)[]): Problem[] {
  const path = [...base, ...pointerToPath(e.instancePath, data)];
  const node = resolvePointer(root, e.schemaPath);
  const own = typeof node === 'object' && node !== null ? (node as Node) : undefined;
  const custom = typeof own?.errorMessage === 'string' ? own.errorMessage : undefined;

  switch (e.keyword) {
    case 'boolean': {
      // `additionalProperties: false` rejected this key; the parent schema knows which keys exist.
      const parent = resolvePointer(root, e.schemaPath.replace(/\/additionalProperties$/, '')) as Node;
      if (parent?.patternProperties) {
        return [{ path, message: (parent.errorMessage as string) ?? 'is not an allowed key' }];
      }
      const known = Object.keys((parent?.properties as Node) ?? {});
      const key = String(path[path.length - 1]);
      const hint = suggest(key, known);
      const expected = known.length > 0 ? ` (expected one of: ${known.join(', ')})` : '';
      return [{ path, message: `unknown key${hint ? `; did you mean "${hint}"?` : expected}` }];
    }
    case 'required':
      return ((e.params.requiredProperties as string[]) ?? []).map((k) => ({
        path: [...path, k],
        message: 'is required',
      }));
    case 'anyOf':
      return describeUnion(own ?? {}, data, e, path, custom);
    case 'type':
      return [{ path, message: custom ?? `must be ${typeName(String(e.params.type))}` }];
    case 'const':
      return [{ path, message: `must be ${JSON.stringify(own?.const)}` }];
    case 'enum':
      return [{ path, message: `must be one of: ${((own?.enum as unknown[]) ?? []).join(', ')}` }];
    case 'minimum':
    case 'exclusiveMinimum':
      return [{ path, message: custom ?? `must be at least ${String(e.params.limit)}` }];
    case 'maximum':
    case 'exclusiveMaximum':
      return [{ path, message: custom ?? `must be at most ${String(e.params.limit)}` }];
    case 'minItems':
      return [{ path, message: custom ?? `must have at least ${String(e.params.limit)} item(s)` }];
    case 'minLength':
      return [{ path, message: custom ?? (e.params.limit === 1 ? 'must not be empty' : e.message) }];
    case 'pattern':
      return [{ path, message: custom ?? `must match ${String(e.params.pattern)}` }];
    default:
      return [{ path, message: custom ?? e.message }];
  }
}

function describeUnion(
  node: Node,
  data: unknown,
  e: SchemaError,
  path: (string | number)[],
  custom: string | undefined,
): Problem[] {
  const branches = (node.anyOf as Node[]) ?? [];
  const value = valueAt(data, e.instancePath);
  // A union of objects told apart by `type` (the registry): validate against the chosen branch.
  const tags = branches.map((b) => ((b.properties as Node | undefined)?.type as Node | undefined)?.const);
  if (tags.length > 0 && tags.every((t) => typeof t === 'string')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return [{ path, message: 'must be a mapping (key: value)' }];
    }
    const tag = (value as Node).type;
    const i = tags.indexOf(tag as string);
    if (i < 0) return [{ path: [...path, 'type'], message: `must be one of: ${tags.join(', ')}` }];
    return schemaProblems(branches[i] as TSchema, value, path);
  }
  if (custom) return [{ path, message: custom }];
  const consts = branches.map((b) => b.const);
  if (consts.every((c) => c !== undefined)) {
    return [{ path, message: `must be one of: ${consts.map((c) => String(c)).join(', ')}` }];
  }
  return [{ path, message: 'has the wrong type' }];
}

function typeName(t: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    integer: 'a whole number',
    number: 'a number',
    boolean: 'true or false',
    object: 'a mapping (key: value)',
    array: 'a list',
    null: 'empty',
  };
  return names[t] ?? t;
}

function resolvePointer(root: unknown, pointer: string): unknown {
  let cur: unknown = root;
  for (const raw of pointer.replace(/^#/, '').split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

function valueAt(data: unknown, pointer: string): unknown {
  return resolvePointer(data, pointer);
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${JSON.stringify(p.path)}|${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
