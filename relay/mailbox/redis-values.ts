import type { Notice } from '../../protocol/index.js';
import type { MailboxEntry, SendResult } from './contract.js';

/*
 * The reading side of what the mailbox scripts store and answer (lua/mailbox.lua writes an
 * entry's header, <flag><seq>:<ts>:<exp>:<bytes>, and its content, and documents its flags;
 * lua/send.lua the 5 values per send of its reply).
 */

/** The send at `at` of a send or share reply (5 values per send). */
export function sendResult(reply: string[], at: number): SendResult {
  switch (reply[at]) {
    case 'stored':
      return {
        status: 'stored',
        dup: false,
        seq: Number(reply[at + 1]),
        prev: Number(reply[at + 2]),
        ts: Number(reply[at + 3]),
        exp: Number(reply[at + 4]),
      };
    case 'dup':
      return {
        status: 'stored',
        dup: true,
        seq: Number(reply[at + 1]),
        prev: 0,
        ts: Number(reply[at + 2]),
        exp: Number(reply[at + 3]),
      };
    case 'unknown':
      return { status: 'unknown_recipient' };
    default:
      return { status: 'quota_exceeded', limit: reply[at + 1] === 'bytes' ? 'bytes' : 'messages' };
  }
}

/**
 * The content of an entry whose b:<id> field is absent: none for a header (<bytes> after the
 * third colon), the inline content of a value an older relay stored (lua/mailbox.lua parse).
 */
export function inlineContent(head: Buffer): Buffer {
  let at = 0;
  for (let colons = 0; colons < 3; colons++) at = head.indexOf(0x3a, at) + 1;
  for (let i = at; i < head.length; i++) if (head[i]! < 0x30 || head[i]! > 0x39) return head.subarray(at);
  return at === head.length ? head.subarray(at) : EMPTY;
}

const EMPTY = Buffer.alloc(0);

/**
 * Decodes one stored entry: its header <flag><seq>:<ts>:<exp>:<bytes> and its content (the
 * field b:<id>; empty when it has none), as lua/mailbox.lua writes them.
 */
export function parseEntry(id: string, head: Buffer, content: Buffer): MailboxEntry {
  const flag = head[0];
  const c1 = head.indexOf(0x3a, 1);
  const c2 = head.indexOf(0x3a, c1 + 1);
  const c3 = head.indexOf(0x3a, c2 + 1);
  const seq = Number(head.toString('latin1', 1, c1));
  const ts = Number(head.toString('latin1', c1 + 1, c2));
  const exp = Number(head.toString('latin1', c2 + 1, c3));
  const split = id.indexOf(':', 2);
  const who = id.slice(2, split);
  const mid = id.slice(split + 1);
  if (flag === 0x6e) {
    const notice = JSON.parse(content.toString('utf8')) as Notice;
    return { kind: 'notice', id, seq, ts, exp, notice };
  }
  if (flag === 0x6f || flag === 0x4f || flag === 0x61 || flag === 0x41) {
    // An offer: <parts>:<preview>
    const c4 = content.indexOf(0x3a);
    const parts = Number(content.toString('latin1', 0, c4));
    const preview = new Uint8Array(content.buffer, content.byteOffset + c4 + 1, content.length - c4 - 1);
    return {
      kind: 'offer',
      id,
      seq,
      from: who,
      mid,
      ts,
      exp,
      parts,
      auto: flag === 0x61 || flag === 0x41,
      preview,
    };
  }
  // A view, not a copy; a plain Uint8Array so it compares equal to what was sent.
  const body = new Uint8Array(content.buffer, content.byteOffset, content.length);
  if (flag === 0x63) return { kind: 'sent', id, seq, to: who, mid, ts, exp, body };
  if (id.startsWith('r:')) {
    const status = flag === 0x65 ? 'expired' : flag === 0x6a ? 'rejected' : 'delivered';
    return { kind: 'receipt', id, seq, to: who, mid, status, at: ts, exp };
  }
  return { kind: 'msg', id, seq, from: who, mid, ts, exp, body };
}
