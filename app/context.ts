import type { CapacityMonitor } from './alerts/monitor';
import type { UrlSigner } from './auth/url-sign';
import type { Config } from './config';
import type { SlowClientGuard } from './http/slow-clients';
import type { ReleaseInfo } from './manifest';
import type { Auth } from './plugins/auth';
import type { Metrics } from './plugins/metrics';
import type { StorageBackend } from './storage/types';
import type { UsageService } from './usage/service';

/** Everything routes need, built once in buildApp and passed to each route plugin. */
export interface AppContext {
  config: Config;
  storage: StorageBackend;
  usage: UsageService;
  monitor: CapacityMonitor | null;
  metrics: Metrics;
  release: ReleaseInfo;
  urlSigner: UrlSigner;
  auth: Auth;
  /** Downloads whose client stops reading are let go (BODY_IDLE_TIMEOUT_MS). */
  slowClients: SlowClientGuard;
  /** Set when shutdown begins: /readyz answers 503 so balancers drain this instance. */
  state: { closing: boolean };
}
