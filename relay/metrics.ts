import { ERROR_CODES, type ErrorCode } from '../protocol/index.js';

/**
 * Counters an operator scrapes at GET /metrics (Prometheus text format). Labels have low
 * cardinality by construction: error codes come from the closed table, nothing names a user.
 */
export class Metrics {
  connectionsOpen = 0;
  connectionsTotal = 0;
  authenticated = 0;
  authFailures = 0;
  stored = 0;
  duplicates = 0;
  delivered = 0;
  acked = 0;
  expired = 0;
  receiptsExpired = 0;
  private readonly errors = new Map<ErrorCode, number>();

  error(code: ErrorCode): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  render(): string {
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number) => {
      lines.push(`# HELP passby_${name} ${help}`, `# TYPE passby_${name} ${type}`, `passby_${name} ${value}`);
    };
    metric('connections_open', 'gauge', 'WebSocket connections open now', this.connectionsOpen);
    metric('connections_total', 'counter', 'WebSocket connections accepted', this.connectionsTotal);
    metric('authenticated_total', 'counter', 'Successful authentications', this.authenticated);
    metric('auth_failures_total', 'counter', 'Failed authentications', this.authFailures);
    metric('messages_stored_total', 'counter', 'Payloads durably stored', this.stored);
    metric(
      'messages_duplicate_total',
      'counter',
      'Sends that were retries of a stored payload',
      this.duplicates,
    );
    metric('messages_delivered_total', 'counter', 'Mailbox entries written to a recipient', this.delivered);
    metric('messages_acked_total', 'counter', 'Mailbox entries acknowledged and deleted', this.acked);
    metric('messages_expired_total', 'counter', 'Entries deleted undelivered at expiry', this.expired);
    metric('receipts_expired_total', 'counter', 'Expired receipts filed for senders', this.receiptsExpired);
    lines.push('# HELP passby_errors_total Errors answered, by code', '# TYPE passby_errors_total counter');
    for (const code of ERROR_CODES)
      lines.push(`passby_errors_total{code="${code}"} ${this.errors.get(code) ?? 0}`);
    return `${lines.join('\n')}\n`;
  }
}
