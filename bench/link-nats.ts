import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { Link, LinkOptions } from './link.js';
import { mailboxConsumer, NATS_STREAM, NATS_SUBJECT_PREFIX } from './peer-nats.js';

/*
 * A client of the NATS JetStream peer (peer-nats.ts), with the official client: one connection
 * per user. On connect the user's durable pull consumer (filtered on its own subject, explicit
 * acks) is created and consumed; each delivery is acked on its own. A send publishes to the
 * recipient's subject with msgID `sender:mid`, so a retry is stored once, and counts as stored
 * only when the server's PubAck arrives.
 */

/** How long a publish may wait for its PubAck; longer than any settle of a loaded run. */
const PUBLISH_TIMEOUT_MS = 30_000;

export async function connectNats(o: LinkOptions): Promise<Link> {
  const { handlers, identity } = o;
  const nc = await connect({
    servers: o.url,
    name: identity.id,
    reconnect: false,
    timeout: o.timeoutMs ?? 30_000,
    // No stack capture per request: the generator shares two cores with the servers.
    noAsyncTraces: true,
  });
  let closed = false;
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add(NATS_STREAM, mailboxConsumer(identity.id));
    const js: JetStreamClient = jetstream(nc, { timeout: PUBLISH_TIMEOUT_MS });
    const consumer = await js.consumers.get(NATS_STREAM, identity.id);
    await consumer.consume({
      callback: (m) => {
        m.ack();
        handlers.onMessage(m.data);
      },
    });
    void nc.closed().then(() => {
      if (!closed) handlers.onClose?.(1006);
    });
    return {
      id: identity.id,
      send(to, mid, body) {
        js.publish(`${NATS_SUBJECT_PREFIX}${to}`, body, { msgID: `${identity.id}:${mid}` }).then(
          () => handlers.onStored?.(mid),
          (err: unknown) => {
            if (!closed) handlers.onError?.(errorCode(err), mid);
          },
        );
      },
      close() {
        closed = true;
        void nc.close().catch(() => {});
      },
    };
  } catch (err) {
    closed = true;
    await nc.close().catch(() => {});
    throw err;
  }
}

function errorCode(err: unknown): string {
  const name = err instanceof Error ? err.name : '';
  return `nats_publish_failed${name ? `:${name}` : ''}`;
}
