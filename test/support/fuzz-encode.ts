/*
 * JSON written by hand for the fuzzers: a header is a tree whose leaves are JSON text, so a
 * number can be spelled `-0` or `1e999`, an object can repeat a key or own a `__proto__` key,
 * and the frame around it can lie about its length. JSON.stringify can do none of these.
 */

/** A JSON value: a leaf as its JSON text, an array, or an object as its entries in order. */
export type Node = Leaf | Node[] | Obj;

export class Leaf {
  constructor(readonly text: string) {}
}

export class Obj {
  constructor(readonly entries: [string, Node][]) {}
}

/** A JS value (what a frame object holds, Uint8Array bodies aside) as a Node. */
export function toNode(value: unknown): Node {
  if (Array.isArray(value)) return value.map(toNode);
  if (typeof value === 'object' && value !== null) {
    return new Obj(Object.entries(value).map(([k, v]): [string, Node] => [k, toNode(v)]));
  }
  return new Leaf(JSON.stringify(value) ?? 'null');
}

export function render(node: Node): string {
  if (node instanceof Leaf) return node.text;
  if (Array.isArray(node)) return `[${node.map(render).join(',')}]`;
  return `{${node.entries.map(([k, v]) => `${JSON.stringify(k)}:${render(v)}`).join(',')}}`;
}

const encoder = new TextEncoder();

/** `[u16 BE length][header][body]`, the length as the header's true size (mod 2^16). */
export function rawHeader(json: string | Uint8Array, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const header = typeof json === 'string' ? encoder.encode(json) : json;
  const out = new Uint8Array(2 + header.length + body.length);
  out[0] = (header.length >> 8) & 0xff;
  out[1] = header.length & 0xff;
  out.set(header, 2);
  out.set(body, 2 + header.length);
  return out;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same frames on every run. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}
