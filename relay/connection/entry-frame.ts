import type { RelayFrame } from '../../protocol/index.js';
import type { MailboxEntry } from '../mailbox/index.js';

/** The frame that hands a mailbox entry to its user. */
export function entryFrame(entry: MailboxEntry): RelayFrame {
  switch (entry.kind) {
    case 'msg':
      return {
        t: 'msg',
        id: entry.id,
        from: entry.from,
        mid: entry.mid,
        ts: entry.ts,
        exp: entry.exp,
        body: entry.body,
      };
    case 'offer':
      return {
        t: 'offer',
        id: entry.id,
        from: entry.from,
        mid: entry.mid,
        ts: entry.ts,
        exp: entry.exp,
        parts: entry.parts,
        auto: entry.auto,
        body: entry.preview,
      };
    case 'notice':
      // The frame's own fields last: a stored notice can never override them.
      return { ...entry.notice, t: 'notice', id: entry.id };
    case 'receipt':
      return { t: 'receipt', id: entry.id, to: entry.to, mid: entry.mid, status: entry.status, at: entry.at };
    case 'sent':
      // Copies are filed only for a send with `copy`, which protocol version 4 brings with its
      // `sent` frame (protocol/ is the lead's); until then no caller asks for one.
      throw new Error('a sent entry needs the protocol version 4 sent frame');
  }
}
