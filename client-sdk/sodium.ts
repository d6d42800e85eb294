import sodium from 'libsodium-wrappers';

/** libsodium, once its WebAssembly has loaded. Every SDK entry point that does crypto awaits it. */
export async function ready(): Promise<typeof sodium> {
  await sodium.ready;
  return sodium;
}

export { sodium };

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const encoder = new TextEncoder();
export const utf8 = (text: string): Uint8Array => encoder.encode(text);
