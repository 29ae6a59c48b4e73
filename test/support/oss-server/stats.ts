import type { PortStats, RequestLogEntry } from './types';

function emptyStats(): PortStats {
  return { requests: 0, bytesIn: 0, bytesOut: 0, methods: {}, statuses: {} };
}

/** Per-port counters and the request log: how tests prove which endpoint a host really used. */
export class Stats {
  private readonly perPort = new Map<string, PortStats>();
  /** Live, append-only until reset(); kept as one array so callers may hold a reference. */
  readonly log: RequestLogEntry[] = [];

  constructor(
    private readonly portNames: string[],
    private readonly listener?: (entry: RequestLogEntry) => void,
  ) {
    this.reset();
  }

  record(entry: RequestLogEntry): void {
    const s = this.perPort.get(entry.port) ?? emptyStats();
    s.requests++;
    s.bytesIn += entry.bytesIn;
    s.bytesOut += entry.bytesOut;
    s.methods[entry.method] = (s.methods[entry.method] ?? 0) + 1;
    s.statuses[entry.status] = (s.statuses[entry.status] ?? 0) + 1;
    this.perPort.set(entry.port, s);
    this.log.push(entry);
    this.listener?.(entry);
  }

  snapshot(): Record<string, PortStats> {
    const out: Record<string, PortStats> = {};
    for (const [name, s] of this.perPort) {
      out[name] = { ...s, methods: { ...s.methods }, statuses: { ...s.statuses } };
    }
    return out;
  }

  reset(): void {
    this.perPort.clear();
    for (const name of this.portNames) this.perPort.set(name, emptyStats());
    this.log.length = 0;
  }
}
