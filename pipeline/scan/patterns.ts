// What a leaked credential looks like. Shared by the artifact scan (before any upload) and the config
// loader (releases.yaml is committed, so it must never hold one).

/** Alibaba Cloud AccessKey ids: "LTAI" then 12-30 letters and digits, not part of a longer word. */
export const ACCESS_KEY_ID = /(?<![A-Za-z0-9])LTAI[A-Za-z0-9]{12,30}(?![A-Za-z0-9])/g;

/**
 * A PEM private key with an actual body. Code that merely mentions the header (parsers, format tables,
 * `'-----BEGIN ' + type + ' PRIVATE KEY-----'`) has no base64 body behind it and does not match.
 */
export const PEM_PRIVATE_KEY =
  /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:\\[rn]|[\r\n])+(?:[A-Za-z0-9+/=]{16,}(?:\\[rn]|[\r\n])+)+-----END/g;

/**
 * A chat-bot or webhook URL with its token in it: DingTalk `?access_token=`, WeCom `?key=`, Feishu/Lark
 * `/open-apis/bot/v2/hook/<token>`, Slack `hooks.slack.com/services/…`, or any `token=`/`sign=` query of
 * token length. Whoever has such a URL can post as the bot.
 */
export const WEBHOOK_TOKEN_URL =
  /https?:\/\/[^\s'"]*(?:[?&](?:access_token|token|key|sign)=[A-Za-z0-9%_-]{16,}|\/open-apis\/bot\/v2\/hook\/[A-Za-z0-9-]{8,}|hooks\.slack\.com\/services\/[A-Za-z0-9]+\/[A-Za-z0-9]+\/[A-Za-z0-9]{8,})/;

/** Config keys whose non-empty values are secrets by name. */
export const SECRET_KEY_NAME = /secret|passw(or)?d|passphrase|^access_?key|token$|private_?key/i;

/** Files that hold secrets by convention; examples and templates are fine. */
export function isDotEnvFile(path: string): boolean {
  const base = path.split('/').pop() ?? path;
  return /^\.env(\..+)?$/.test(base) && !/\.(example|sample|template|dist)$/.test(base);
}

/** Shows enough of a secret to find it, never the whole thing. */
export function redact(secret: string): string {
  return `${secret.slice(0, 6)}…`;
}
