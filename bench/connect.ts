import type { Link, LinkOptions, TargetKind } from './link.js';
import { connectNats } from './link-nats.js';
import { connectPassby } from './link-passby.js';
import { connectBare, connectSocketio } from './link-peers.js';

/** Opens an authenticated link to a target of the given kind. */
export function connect(kind: TargetKind, o: LinkOptions): Promise<Link> {
  switch (kind) {
    case 'passby':
      return connectPassby(o);
    case 'bare':
      return connectBare(o);
    case 'socketio':
      return connectSocketio(o);
    case 'nats':
      return connectNats(o);
  }
}
