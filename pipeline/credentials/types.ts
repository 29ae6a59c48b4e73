// Credentials as every OSS caller here takes them: long-term keys, or STS credentials with an expiry that
// a provider renews. The shape matches app/storage/oss-client.ts's CredentialsProvider, so one provider
// (the ECS metadata one) serves the app, the CLI's registry and the host agent alike.

export interface OssCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  /** STS credentials carry a token that must travel with every request. */
  securityToken?: string;
  /** When the STS credentials stop working; absent for long-term keys. */
  expiration?: Date;
}

export type CredentialsProvider = () => Promise<OssCredentials>;

/** Long-term keys as a provider, so callers handle one shape. */
export function staticCredentials(creds: OssCredentials): CredentialsProvider {
  const frozen = { ...creds };
  return async () => frozen;
}
