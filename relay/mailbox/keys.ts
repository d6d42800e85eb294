import { shardKey } from '../redis/index.js';

/*
 * The Redis keys of a mailbox, written once (relay/mailbox/redis.ts documents the layout;
 * lua/mailbox.lua reads them in this order), and the batch strides that the scripts and the store
 * share.
 */

/** Keys per mailbox in a script call (lua/mailbox.lua BOX_KEYS). */
export const BOX_KEYS = 8;
/** Arguments per send in lua/send.lua (SEND_STRIDE), per ack in lua/ack.lua, per receipt in lua/receipts.lua. */
export const SEND_STRIDE = 11;
export const ACK_STRIDE = 5;
export const RECEIPT_STRIDE = 4;

/** The index shard of `slot`: mailboxes by earliest expiry, and receipts waiting to be filed. */
export function expiryShard(prefix: string, slot: number): string {
  return shardKey(prefix, 'expiry', slot);
}

/**
 * e, q, x, pk, h, the doorbell channel, the expiry shard (of `shard`: relay/redis/shards.ts
 * indexSlot), and d (the device registry, relay/account's; the scripts read its live mask m):
 * what every mailbox script gets.
 */
export function boxKeys(prefix: string, uid: string, shard: number): string[] {
  const tag = `${prefix}{${uid}}:`;
  return [
    `${tag}e`,
    orderKey(prefix, uid),
    `${tag}x`,
    `${tag}pk`,
    `${tag}h`,
    bellChannel(prefix, uid),
    expiryShard(prefix, shard),
    `${tag}d`,
  ];
}

/** q, the mailbox's entries by seq (the safety pull's probe reads only this). */
export function orderKey(prefix: string, uid: string): string {
  return `${prefix}{${uid}}:q`;
}

/** The keys of uid's own mailbox that erase deletes (not pk and d: relay/account owns them). */
export function ownMailboxKeys(prefix: string, uid: string): string[] {
  const tag = `${prefix}{${uid}}:`;
  return [`${tag}e`, `${tag}q`, `${tag}x`, `${tag}h`];
}

/** The registry hash of uid (relay/account writes it; field m is the live device mask). */
export function registryKey(prefix: string, uid: string): string {
  return `${prefix}{${uid}}:d`;
}

export function publicKeyKey(prefix: string, uid: string): string {
  return `${prefix}{${uid}}:pk`;
}

export function bellChannel(prefix: string, uid: string): string {
  return `${prefix}{${uid}}:bell`;
}

/** A receipt noted in an index shard (lua/mailbox.lua note_receipt): "r <from> <rid> <flag><at>". */
export interface ReceiptNote {
  note: string;
  from: string;
  rid: string;
  status: string;
  /** The recipient whose slot's shard holds the note. */
  recipient: string;
}

export function parseNote(note: string): ReceiptNote | null {
  const [r, from, rid, status] = note.split(' ');
  if (r !== 'r' || !from || !rid || !status) return null;
  const end = rid.indexOf(':', 2);
  return { note, from, rid, status, recipient: rid.slice(2, end) };
}
