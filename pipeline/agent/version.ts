// The CLI drives agents over SSH and refuses one that speaks another protocol. Bump AGENT_PROTOCOL when a
// command, flag or JSON field the CLI relies on changes incompatibly; AGENT_VERSION for any change.

// 2: the agent runs on the runtime setup installs (.ferry/runtime), deploy takes --runtime-url, and
// errors carry details. A host set up by an older CLI is told to run `ferry setup` again.
// Still 2 with .tar.br artifacts (0.4.0): every protocol-2 agent ships with brotli unpacking, so no host
// running protocol 2 meets a release it cannot read.
export const AGENT_PROTOCOL = 2;
export const AGENT_VERSION = '0.4.0';

// Optional abilities added without a protocol change, so hosts need a new agent only to use them:
// `hooks`: deploy takes --hook (beforeSwitch/afterSwitch).
export const AGENT_FEATURES: readonly string[] = ['hooks'];
