// The secrets every CI template reads, with what each holds. One list, so the templates' header comments,
// `ferry init`'s closing message and docs/init.md name the same variables.

export interface CiSecret {
  name: string;
  what: string;
}

export const PUBLISH_SECRETS: readonly CiSecret[] = [
  { name: 'OSS_ACCESS_KEY_ID', what: 'AccessKey id of a RAM user that may write the registry prefix' },
  { name: 'OSS_ACCESS_KEY_SECRET', what: "that RAM user's AccessKey secret" },
  { name: 'FERRY_SIGNING_KEY', what: 'the release signing key: the contents of .ferry/signing-key.pem' },
];

export const DEPLOY_SECRETS: readonly CiSecret[] = [
  {
    name: 'FERRY_SSH_KEY',
    what: "the deploy user's SSH private key (pin each host's key in releases.yaml: hosts[].hostKey)",
  },
];

/** What the templates share: how the project installs, which Node, and whether to deploy. */
export interface CiInput {
  name: string;
  nodeMajor: number;
  /** package-lock.json present: `npm ci`, cache keyed on it; else `npm install` keyed on package.json. */
  lockfile: boolean;
  /** The environment deployed on version tags; null: publish only. */
  deployEnv: string | null;
  /** The branch whose pushes publish. */
  branch: string;
}

export function installCommand(i: CiInput): string {
  return i.lockfile ? 'npm ci --prefer-offline --no-audit --no-fund' : 'npm install --no-audit --no-fund';
}

export function lockFile(i: CiInput): string {
  return i.lockfile ? 'package-lock.json' : 'package.json';
}

/** Comment lines naming the secrets a template reads. */
export function secretLines(
  i: CiInput,
  where: string,
  names: (s: CiSecret) => string = (s) => s.name,
): string[] {
  const all = [...PUBLISH_SECRETS, ...(i.deployEnv ? DEPLOY_SECRETS : [])];
  const width = Math.max(...all.map((s) => names(s).length));
  return [`# Secrets (${where}):`, ...all.map((s) => `#   ${names(s).padEnd(width)}  ${s.what}`)];
}

export const OSS_NOTE = [
  '# releases.yaml must use the oss registry (uncomment its block): with the local one, publish would only',
  '# write into the CI machine.',
];
