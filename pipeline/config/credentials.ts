// releases.yaml is committed to git, so a value that looks like a credential is refused outright, with a
// pointer to where that kind of secret belongs instead. Runs on the raw YAML data, before the schema, so a
// secret under a misspelled or unknown key is caught too.
import { ACCESS_KEY_ID, PEM_PRIVATE_KEY, SECRET_KEY_NAME, WEBHOOK_TOKEN_URL } from '../scan/patterns';
import type { Problem } from './problems';
import { ENV_REF } from './schema-notifications';

export const CREDENTIAL_ENV_VARS = {
  oss: 'OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET and (for STS) OSS_SECURITY_TOKEN',
  signing: 'FERRY_SIGNING_KEY (the PEM) or FERRY_SIGNING_KEY_FILE (a path outside the repo)',
  app: "the host's shared/.env file (see docs/releases.md), never releases.yaml",
  notifications:
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the ${NAME} syntax of releases.yaml, shown to people
    'an environment variable of the machine running ferry, referenced as ${NAME} (e.g. url: ${DINGTALK_WEBHOOK}, secret: ${DINGTALK_SECRET})',
} as const;

export function credentialProblems(data: unknown): Problem[] {
  const problems: Problem[] = [];
  walk(data, [], (path, key, value) => {
    const where =
      path[0] === 'app'
        ? CREDENTIAL_ENV_VARS.app
        : path[0] === 'notifications'
          ? CREDENTIAL_ENV_VARS.notifications
          : CREDENTIAL_ENV_VARS.oss;
    // A ${NAME} reference names where the secret is; it is not one.
    if (ENV_REF.test(value.trim())) return;
    if (new RegExp(PEM_PRIVATE_KEY.source).test(value) || /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) {
      problems.push({
        path,
        message: `is a private key; releases.yaml is committed. Provide it through ${CREDENTIAL_ENV_VARS.signing}`,
      });
    } else if (new RegExp(ACCESS_KEY_ID.source).test(value)) {
      problems.push({
        path,
        message: `looks like an Alibaba Cloud AccessKey id (LTAI…); releases.yaml is committed. Use ${where}`,
      });
    } else if (
      WEBHOOK_TOKEN_URL.test(value) ||
      (path[0] === 'notifications' && key === 'url' && /^\s*https?:\/\//i.test(value))
    ) {
      problems.push({
        path,
        message: `is a literal webhook URL, and a bot's URL carries its token; releases.yaml is committed. Use ${CREDENTIAL_ENV_VARS.notifications}`,
      });
    } else if (key !== undefined && SECRET_KEY_NAME.test(key) && value.trim() !== '') {
      problems.push({
        path,
        message: `looks like a secret (by its name); releases.yaml is committed. Use ${where}`,
      });
    }
  });
  return problems;
}

function walk(
  value: unknown,
  path: (string | number)[],
  visit: (path: (string | number)[], key: string | undefined, value: string) => void,
): void {
  if (typeof value === 'string' || typeof value === 'number') {
    const last = path[path.length - 1];
    visit(path, typeof last === 'string' ? last : undefined, String(value));
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      walk(v, [...path, i], visit);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walk(v, [...path, k], visit);
  }
}
