/**
 * The body of a version 4 `export` reply: everything the relay holds about the account, as UTF-8
 * JSON (PROTOCOL.md, "Export and erase"). Of other users it names only the IDs of links. A relay
 * may add fields; a client ignores those it does not know.
 */
export interface AccountExport {
  user: string;
  publicKey: string | null;
  exportedAt: number;
  /** The account's last authentication, null when none is known. */
  seen: number | null;
  devices: { id: string; created: number; seen: number; pending: boolean }[];
  revoked: { id: string; at: number }[];
  friends: ExportedLink[];
  /** That the user is discoverable, and until when: never the number or its hash. */
  discoverable: { until: number } | null;
  /** Contact matches the user's look-ups left. */
  pendingMatches: { count: number; latestExpiry: number | null };
  mailbox: {
    entries: number;
    messages: number;
    bytes: number;
    oldestExpiry: number | null;
    newestExpiry: number | null;
    /** What each device has not acknowledged; a version 1-3 user's one device is named by the user ID. */
    perDevice: { id: string; waiting: number; bytes: number }[];
  };
  receiptsWaiting: number;
  /** That a presence is live, and until when: never the cell or the tokens. */
  presence: { until: number; blind: boolean } | null;
  rates: {
    lookups: { used: number; windowEndsAt: number } | null;
    presence: { nextAt: number } | null;
  };
  /** That a device has a wake-up registration, and of which kind: never the token or endpoint. */
  pushRegistrations: { device: string; kind: string }[];
}

/** A friend link or request, with each side's switches (the other side's only between friends). */
export interface ExportedLink {
  id: string;
  state: 'friend' | 'incoming' | 'outgoing' | 'declined';
  proximity: boolean;
  autoAccept: boolean;
  theirProximity: boolean;
  theirAutoAccept: boolean;
}
