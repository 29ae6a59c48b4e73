// The `hooks:` block of releases.yaml: commands a deploy runs at fixed points. Part of the one schema in
// schema.ts, kept here so that file stays about environments and the registry.
import { type Static, Type } from 'typebox';

export const HOOK_PHASES = ['beforeSwitch', 'afterSwitch', 'afterDeploy'] as const;
export type HookPhase = (typeof HOOK_PHASES)[number];

export const DEFAULT_HOOK_TIMEOUT_SECONDS = 300;

const run = Type.String({
  minLength: 1,
  description: 'A shell command, run with sh -c.',
  errorMessage: 'must be a non-empty shell command',
});
const timeoutSeconds = Type.Optional(
  Type.Integer({
    minimum: 1,
    maximum: 86400,
    default: DEFAULT_HOOK_TIMEOUT_SECONDS,
    description:
      'Killed (its whole process group) after this long; the hook then counts as failed. Must be shorter than lockTtlSeconds.',
  }),
);

const HostHook = Type.Object(
  {
    run,
    timeoutSeconds,
    once: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'Run on the canary host only (once per deploy of the environment): database migrations, for example.',
      }),
    ),
  },
  { additionalProperties: false },
);

const LocalHook = Type.Object({ run, timeoutSeconds }, { additionalProperties: false });

export const HooksSchema = Type.Object(
  {
    beforeSwitch: Type.Optional(
      Type.Array(HostHook, {
        description:
          "On each host, in the new release's directory with its Node runtime first on PATH and the app's environment (service env < shared/.env), after the release is installed and before `current` moves. A failure stops that host before the switch.",
      }),
    ),
    afterSwitch: Type.Optional(
      Type.Array(HostHook, {
        description:
          'On each host, once the new release passed its health gate. A failure is reported; the release keeps serving.',
      }),
    ),
    afterDeploy: Type.Optional(
      Type.Array(LocalHook, {
        description:
          "On the machine running ferry, in this file's folder, after every host serves the release (e.g. purge a CDN path). A failure is reported; nothing is undone.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description: '`ferry deploy` runs these; rollbacks and pull-mode syncs do not (docs/deploy.md).',
  },
);

export type HooksFile = Static<typeof HooksSchema>;
