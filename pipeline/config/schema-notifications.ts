// The `notifications:` block of releases.yaml: chat bots and webhooks told about deploys. Part of the one
// schema in schema.ts. URLs and secrets are `${ENV_NAME}` references only: a bot's URL carries its token.
import { type Static, Type } from 'typebox';

export const NOTIFY_EVENTS = [
  'deploy.started',
  'deploy.succeeded',
  'deploy.failed',
  'rollback',
  'host.reverted',
  'promote',
] as const;
export type NotifyEventName = (typeof NOTIFY_EVENTS)[number];

export const NOTIFY_TYPES = ['dingtalk', 'feishu', 'lark', 'wecom', 'slack', 'webhook'] as const;
export type NotifyType = (typeof NOTIFY_TYPES)[number];

/** `${NAME}`: resolved from the environment of the process running ferry, when a message is sent. */
export const ENV_REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

const envRef = (what: string, short: string) =>
  Type.String({
    pattern: ENV_REF.source,
    description: `${what}, as a reference to an environment variable: \${NAME}.`,
    errorMessage: `must be a reference to an environment variable, like \${${short}}: releases.yaml is committed, so it must not hold the ${short === 'DINGTALK_WEBHOOK' ? 'URL' : 'secret'} itself`,
  });

const Notification = Type.Object(
  {
    type: Type.Union(
      NOTIFY_TYPES.map((t) => Type.Literal(t)),
      {
        description:
          'dingtalk (robot), feishu or lark (bot), wecom (group robot), slack (incoming webhook), or webhook (JSON POST of the event).',
        errorMessage: `must be one of ${NOTIFY_TYPES.join(', ')}`,
      },
    ),
    url: envRef('The webhook URL (it carries the bot token)', 'DINGTALK_WEBHOOK'),
    secret: Type.Optional(
      envRef(
        'The signing secret (DingTalk "加签", Feishu/Lark signature, or HMAC of a generic webhook body)',
        'DINGTALK_SECRET',
      ),
    ),
    events: Type.Optional(
      Type.Array(
        Type.Union(
          NOTIFY_EVENTS.map((e) => Type.Literal(e)),
          { errorMessage: `must be one of ${NOTIFY_EVENTS.join(', ')}` },
        ),
        { minItems: 1, description: 'What this target is told about; default: every event.' },
      ),
    ),
    environments: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'Only these environments; default: all.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const NotificationsSchema = Type.Array(Notification, {
  description:
    'Who hears about deploys. A target that fails or does not answer within 5 s is a warning; it never fails or holds up the deploy.',
});

export type NotificationFile = Static<typeof Notification>;
