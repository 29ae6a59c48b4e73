// The CLI drives agents over SSH and refuses one that speaks another protocol. Bump AGENT_PROTOCOL when a
// command, flag or JSON field the CLI relies on changes incompatibly; AGENT_VERSION for any change.

export const AGENT_PROTOCOL = 1;
export const AGENT_VERSION = '0.1.0';
