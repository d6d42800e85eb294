import { Cluster } from 'ioredis';
import { type RedisClient, userSlot } from '../redis/index.js';
import type { Logger } from '../telemetry/index.js';
import type { Signal, SignalBus, SignalHandler } from './contract.js';
import { bellChannel } from './keys.js';

/*
 * Doorbells and kicks between relay nodes on Redis's sharded pub/sub: SPUBLISH to a user's
 * channel pb:{uid}:bell (in the user's slot, so on a Cluster it reaches the subscribers of that
 * slot's primary), SSUBSCRIBE by the node that holds the user's connection. A doorbell is a hint
 * (DESIGN R5): whenever the subscription may have missed some, the node re-reads the mailboxes.
 */

/** Channels per SSUBSCRIBE when the subscriber comes back. */
const RESUBSCRIBE_BATCH = 1_000;

export function redisSignalBus(
  cmd: RedisClient,
  sub: RedisClient,
  prefix: string,
  log: Logger | undefined,
): SignalBus {
  let handler: SignalHandler = () => {};
  sub.on('smessage', (channel: string, message: string) => {
    const uid = channel.slice(prefix.length + 1, channel.length - '}:bell'.length);
    const signal = parseSignal(message);
    try {
      if (signal) handler(uid, signal);
    } catch (err) {
      log?.error({ err }, 'signal handler failed');
    }
  });

  // Doorbells published while a subscriber was away are lost: once it is back (a reconnect, or on
  // a Cluster a subscriber for a new primary after a failover or a reshard), subscribe to every
  // watched user again and tell the relay, which re-reads each one's mailbox.
  const watched = new Set<string>();
  let reconnected: () => void = () => {};
  // (Listened to after the first connect: every event from here on is a reconnect.)
  const clustered = sub instanceof Cluster;
  for (const event of clustered ? ['+subscriber', 'subscribersReady'] : ['ready'])
    sub.on(event, () => void resubscribe());
  // After a reshard Redis drops the subscriber's channels of the slots that moved, and says so
  // only to that connection; the command connection learns of the move from a MOVED and re-reads
  // the slot table: the subscriber then re-reads it too, and its channels follow their slots to
  // the new owners ('subscribersReady', above). (It also re-reads on its own period.)
  if (cmd instanceof Cluster && sub instanceof Cluster)
    cmd.on('refresh', () => {
      if (sub.status === 'ready') sub.refreshSlotsCache();
    });
  async function resubscribe(): Promise<void> {
    try {
      // One SSUBSCRIBE names channels of one slot on a Cluster; any on one server.
      const bySlot = new Map<number, string[]>();
      for (const uid of watched) {
        const slot = clustered ? userSlot(uid) : 0;
        const list = bySlot.get(slot);
        if (list === undefined) bySlot.set(slot, [bellChannel(prefix, uid)]);
        else list.push(bellChannel(prefix, uid));
      }
      for (const channels of bySlot.values()) {
        for (let i = 0; i < channels.length; i += RESUBSCRIBE_BATCH)
          await sub.ssubscribe(...channels.slice(i, i + RESUBSCRIBE_BATCH));
      }
      log?.info({ users: watched.size }, 'subscriber back: re-reading mailboxes');
    } catch (err) {
      // The connection went again; its next 'ready' tries again. The re-read below still helps.
      log?.warn({ err }, 'resubscribe failed');
    }
    reconnected();
  }

  return {
    async watch(uid) {
      watched.add(uid);
      try {
        await sub.ssubscribe(bellChannel(prefix, uid));
      } catch (err) {
        watched.delete(uid);
        throw err;
      }
    },

    async unwatch(uid) {
      watched.delete(uid);
      await sub.sunsubscribe(bellChannel(prefix, uid));
    },

    onSignal(next) {
      handler = next;
    },

    onReconnect(next) {
      reconnected = next;
    },

    async kick(uid, connToken) {
      await cmd.spublish(bellChannel(prefix, uid), `k${connToken}`);
    },
  };
}

function parseSignal(message: string): Signal | null {
  if (message.startsWith('b')) {
    const seq = Number(message.slice(1));
    return Number.isSafeInteger(seq) ? { type: 'bell', seq } : null;
  }
  if (message.startsWith('k')) return { type: 'kick', conn: message.slice(1) };
  return null;
}
