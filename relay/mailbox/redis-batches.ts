import { Args, copiedBytes } from '../redis/index.js';
import type { Logger } from '../telemetry/index.js';
import { type AckResult, copyEntryId, messageEntryId, type SendInput, type SendResult } from './contract.js';
import { BOX_KEYS } from './keys.js';
import { type MailboxCalls, RECEIPT_GRACE_MS } from './redis-calls.js';
import { sendResult } from './redis-values.js';

/*
 * What the Redis store (redis.ts) does with a turn's batch of sends or acks: one script call per
 * slot (all in one on a standalone server), every call of the batch at once.
 */

/** An item of a send call: a send into its recipient's mailbox, or the copy of one into its sender's. */
interface SendItem {
  input: SendInput;
  /** The index of the send in its batch. */
  at: number;
  /** Whose mailbox: `to` for the send, `from` for its copy. */
  box: string;
  copy: boolean;
}

/**
 * Stores a batch of sends. A send with `copy` is two items, each in its own mailbox's slot
 * group: the copy cannot be atomic with the send on a Cluster, so a copy filed beside a send
 * that was refused is removed again (rare: a quota or unknown recipient), before the send is
 * answered. A batch's calls succeed or fail together: a sender whose send was stored by a call
 * that succeeded but is answered store_unavailable retries, and the retry is a dup (D3).
 */
export async function runSends(mc: MailboxCalls, batch: readonly SendInput[]): Promise<SendResult[]> {
  const results = new Array<SendResult>(batch.length);
  const items: SendItem[] = [];
  batch.forEach((input, at) => {
    items.push({ input, at, box: input.to, copy: false });
    if (input.copy && input.offer === undefined) items.push({ input, at, box: input.from, copy: true });
  });
  const copies = new Map<number, SendResult>();
  await Promise.all(
    [...mc.calls(items, (s) => s.box)].map(async ([slot, indices]) => {
      let capacity = 64;
      for (const i of indices) capacity += SEND_ARGS_BYTES + copiedBytes(items[i]!.input.body);
      const args = new Args(capacity);
      const index = mc.mailboxes(
        args,
        indices.map((i) => items[i]!.box),
        slot,
      );
      args.int(mc.limits.mailboxMaxMessages).int(mc.limits.mailboxMaxBytes).int(indices.length);
      for (const i of indices) {
        const { input, box, copy } = items[i]!;
        args
          .int(index.get(box)!)
          .text(box)
          .text(copy ? copyEntryId(input.to, input.mid) : messageEntryId(input.from, input.mid))
          .int(input.now)
          .int(input.ttlMs)
          .text(input.receipt && !copy ? '1' : '0')
          .text(input.bell || copy ? '1' : '0')
          .bytes(input.body)
          .text(copy ? '' : (input.offer ?? ''))
          .int(input.holdMs ?? input.ttlMs)
          .text(copy ? String(input.copy!.slot) : '');
      }
      const reply = ((await mc.call('send', args, slot)) as string).split(',');
      await mc.replicated(slot);
      indices.forEach((i, j) => {
        const { input, at, copy } = items[i]!;
        const result = sendResult(reply, j * 5);
        if (copy) copies.set(at, result);
        else results[at] = result;
        // A held part may go at its hold deadline, before its expiry.
        if (result.status === 'stored' && !result.dup && result.seq > 0)
          mc.noteDue(
            slot,
            Math.min(result.exp, input.now + (input.offer ? (input.holdMs ?? input.ttlMs) : input.ttlMs)),
          );
      });
    }),
  );
  const stray = [...copies].filter(
    ([at, copy]) => copy.status === 'stored' && !copy.dup && results[at]!.status !== 'stored',
  );
  await Promise.all(
    stray.map(([at]) => {
      const input = batch[at]!;
      return mc.removeEntries(input.from, [copyEntryId(input.to, input.mid)], []);
    }),
  );
  return results;
}

/** An ack of a batch: device `slot` of `uid` has entry `entryId`. */
export interface AckItem {
  uid: string;
  slot: number;
  entryId: string;
  now: number;
}

/** Acks a batch, then files the receipts the acks noted (their second step). */
export async function runAcks(mc: MailboxCalls, log: Logger | undefined, batch: readonly AckItem[]) {
  const results = new Array<AckResult>(batch.length);
  const notes: string[] = [];
  await Promise.all(
    [...mc.calls(batch, (a) => a.uid)].map(async ([slot, indices]) => {
      const args = new Args(64 + ACK_ARGS_BYTES * indices.length);
      const index = mc.mailboxes(
        args,
        indices.map((i) => batch[i]!.uid),
        slot,
      );
      args.int(indices.length);
      for (const i of indices) {
        const a = batch[i]!;
        args.int(index.get(a.uid)!).text(a.uid).text(a.entryId).int(a.slot).int(a.now);
      }
      const reply = (await mc.call('ack', args, slot)) as string[];
      const acked = reply[0] ?? '';
      indices.forEach((i, j) => {
        results[i] = acked.charCodeAt(j) === 0x31 ? DELETED : GONE;
      });
      for (let k = 1; k < reply.length; k++) notes.push(reply[k]!);
      // Each note is due in its recipient's shard RECEIPT_GRACE_MS after the ack (mailbox.lua).
      if (reply.length > 1) for (const i of indices) mc.noteDue(slot, batch[i]!.now + RECEIPT_GRACE_MS);
    }),
  );
  // The acks are done; a failure to file their receipts now leaves the notes for the sweep.
  if (notes.length > 0) {
    await mc.fileReceipts(notes).catch((err: unknown) => {
      log?.warn({ err }, 'receipts left for the sweep to file');
    });
  }
  return results;
}

/** Bytes of a send's arguments besides its body (IDs, numbers, flags, RESP heads), about. */
const SEND_ARGS_BYTES = 170 + BOX_KEYS * 60;
/** Bytes of an ack's arguments, about. */
const ACK_ARGS_BYTES = 150 + BOX_KEYS * 60;
const DELETED: AckResult = Object.freeze({ deleted: true });
const GONE: AckResult = Object.freeze({ deleted: false });
