/*
 * The Redis keys of wake-up pushes, each in the user's slot ({uid}), written once:
 *
 *   pb:{uid}:push  hash  slot -> the device's registration (contract.ts encodeRegistration)
 *   pb:{uid}:on    hash  slot -> '<until ms>:<connection token>': the device has a connection on
 *                        some relay node until then (refreshed by that node, removed at detach;
 *                        a dead node's marks expire); the key expires with its last mark
 *   pb:{uid}:wk    hash  slot -> until ms: the device was woken, no new wake-up before then;
 *                        removed when the device connects; the key expires with its last mark
 *   pb:{uid}:d     hash  (relay/account's registry, read only: m, the live device mask; x, an
 *                        erase under way)
 */

export interface PushKeys {
  registrations(uid: string): string;
  online(uid: string): string;
  woken(uid: string): string;
  registry(uid: string): string;
}

export function pushKeys(prefix: string): PushKeys {
  return {
    registrations: (uid) => `${prefix}{${uid}}:push`,
    online: (uid) => `${prefix}{${uid}}:on`,
    woken: (uid) => `${prefix}{${uid}}:wk`,
    registry: (uid) => `${prefix}{${uid}}:d`,
  };
}
