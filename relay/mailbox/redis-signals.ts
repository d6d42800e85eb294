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

/** Channels per SSUBSCRIBE (when the subscriber comes back, and of a tick's watches). */
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

  // A tick's (un)subscribes leave together: one command per slot and kind instead of a write
  // each (a reconnect storm of thousands of users was thousands of small writes to Redis). Runs of
  // one kind keep their order against the other, so a user watched and unwatched in one tick ends
  // unwatched, and the other way round.
  let queue: Change[] = [];
  const change = (subscribe: boolean, uid: string) =>
    new Promise<void>((resolve, reject) => {
      if (queue.length === 0) process.nextTick(flush);
      const slot = clustered ? userSlot(uid) : 0;
      queue.push({ subscribe, channel: bellChannel(prefix, uid), slot, resolve, reject });
    });
  function flush(): void {
    const changes = queue;
    queue = [];
    let start = 0;
    for (let i = 1; i <= changes.length; i++) {
      if (i < changes.length && changes[i]!.subscribe === changes[start]!.subscribe) continue;
      send(changes.slice(start, i));
      start = i;
    }
  }
  function send(run: Change[]): void {
    const bySlot = new Map<number, Change[]>();
    for (const c of run) {
      const list = bySlot.get(c.slot);
      if (list === undefined) bySlot.set(c.slot, [c]);
      else list.push(c);
    }
    for (const list of bySlot.values()) {
      for (let i = 0; i < list.length; i += RESUBSCRIBE_BATCH) {
        const part = list.slice(i, i + RESUBSCRIBE_BATCH);
        const channels = part.map((c) => c.channel);
        (part[0]!.subscribe ? sub.ssubscribe(...channels) : sub.sunsubscribe(...channels)).then(
          () => {
            for (const c of part) c.resolve();
          },
          (err: unknown) => {
            for (const c of part) c.reject(err);
          },
        );
      }
    }
  }

  return {
    async watch(uid) {
      watched.add(uid);
      try {
        await change(true, uid);
      } catch (err) {
        watched.delete(uid);
        throw err;
      }
    },

    async unwatch(uid) {
      watched.delete(uid);
      await change(false, uid);
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

/** A subscribe or unsubscribe waiting for the end of its tick. */
interface Change {
  subscribe: boolean;
  channel: string;
  slot: number;
  resolve(): void;
  reject(err: unknown): void;
}

function parseSignal(message: string): Signal | null {
  if (message.startsWith('b')) {
    const seq = Number(message.slice(1));
    return Number.isSafeInteger(seq) ? { type: 'bell', seq } : null;
  }
  if (message.startsWith('k')) return { type: 'kick', conn: message.slice(1) };
  return null;
}
