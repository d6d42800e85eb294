import { describe, expect, it } from 'vitest';
import { ClientError, PassbyError } from '../../client-sdk/index.js';
import { counter } from '../../client-sdk/keys.js';
import { type RequestFrame, Requests } from '../../client-sdk/requests.js';
import { ManualClock } from './fake-v4.js';

function setup(open = true) {
  const clock = new ManualClock(0);
  const wire: RequestFrame[] = [];
  const link = { open };
  const requests = new Requests({
    send: (frame) => {
      if (!link.open) return false;
      wire.push(frame);
      return true;
    },
    nextRid: counter(),
    clock,
    timeoutMs: 1000,
  });
  return { clock, wire, link, requests };
}

describe('request layer', () => {
  it('sends each request with its own rid and resolves it with the reply of that rid', async () => {
    const { wire, requests } = setup();
    const consent = requests.request({
      t: 'consent',
      id: 'a'.repeat(22),
      proximity: true,
      autoAccept: false,
    });
    const list = requests.request({ t: 'friends' });
    expect(wire.map((f) => [f.t, f.rid])).toEqual([
      ['consent', 0],
      ['friends', 1],
    ]);
    expect(requests.onReply({ t: 'friends', rid: 1, friends: [] })).toBe(true);
    expect(requests.onReply({ t: 'ok', rid: 0 })).toBe(true);
    await expect(list).resolves.toEqual({ t: 'friends', rid: 1, friends: [] });
    await expect(consent).resolves.toEqual({ t: 'ok', rid: 0 });
    expect(requests.size).toBe(0);
  });

  it('rejects a refused request with a PassbyError carrying the code from the error table', async () => {
    const { wire, requests } = setup();
    const accept = requests.request({ t: 'friend', op: 'accept', id: 'b'.repeat(22) });
    expect(requests.onError(wire[0]!.rid, new PassbyError('no_request'))).toBe(true);
    const error = await accept.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PassbyError);
    expect(error).toMatchObject({ code: 'no_request', retry: false });
  });

  it('says an error or reply with a rid it never used is not its own', () => {
    const { requests } = setup();
    expect(requests.onError(7, new PassbyError('not_friends'))).toBe(false);
    expect(requests.onReply({ t: 'ok', rid: 7 })).toBe(false);
  });

  it('waits for an open connection and sends the request when flushed', async () => {
    const { wire, link, requests } = setup(false);
    const presence = requests.request({ t: 'presence', cell: '8a1fb46622dffff' });
    expect(wire).toEqual([]);
    link.open = true;
    requests.flush();
    expect(wire).toEqual([{ t: 'presence', cell: '8a1fb46622dffff', rid: expect.any(Number) }]);
    requests.onReply({ t: 'ok', rid: wire[0]!.rid });
    await expect(presence).resolves.toMatchObject({ t: 'ok' });
  });

  it('gives up with a timeout when no connection opens in time, and sends nothing later', async () => {
    const { clock, wire, link, requests } = setup(false);
    const discover = requests.request({ t: 'discover', phone: null });
    clock.advance(999);
    expect(requests.size).toBe(1);
    clock.advance(1);
    await expect(discover).rejects.toMatchObject({ name: 'ClientError', code: 'timeout' });
    link.open = true;
    requests.flush();
    expect(wire).toEqual([]);
  });

  it('times out a request the relay never answers and ignores the late answer', async () => {
    const { clock, wire, requests } = setup();
    const list = requests.request({ t: 'friends' });
    clock.advance(1000);
    await expect(list).rejects.toBeInstanceOf(ClientError);
    expect(requests.onReply({ t: 'friends', rid: wire[0]!.rid, friends: [] })).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('fails requests in flight with "disconnected" when the socket drops, and keeps the unsent waiting', async () => {
    const { wire, link, requests } = setup();
    const sent = requests.request({ t: 'friends' });
    link.open = false;
    const waiting = requests.request({ t: 'discover', phone: '+4915112345678' });
    requests.disconnected();
    await expect(sent).rejects.toMatchObject({ code: 'disconnected' });
    link.open = true;
    requests.flush();
    expect(wire.map((f) => f.t)).toEqual(['friends', 'discover']);
    requests.onReply({ t: 'ok', rid: wire[1]!.rid });
    await expect(waiting).resolves.toMatchObject({ t: 'ok' });
  });

  it('rejects every request with the closing error, and any later request with "closed"', async () => {
    const { link, requests, clock } = setup();
    const sent = requests.request({ t: 'friends' });
    link.open = false;
    const waiting = requests.request({ t: 'friends' });
    requests.close(new PassbyError('replaced'));
    await expect(sent).rejects.toMatchObject({ code: 'replaced' });
    await expect(waiting).rejects.toMatchObject({ code: 'replaced' });
    await expect(requests.request({ t: 'friends' })).rejects.toMatchObject({ code: 'closed' });
    expect(clock.pending).toBe(0);
  });

  it('refuses a reply of the wrong kind as a protocol error', async () => {
    const { wire, requests } = setup();
    const lookup = requests.request({ t: 'lookup', phones: ['+4915112345678'] });
    requests.onReply({ t: 'ok', rid: wire[0]!.rid });
    await expect(lookup).rejects.toMatchObject({ name: 'ClientError', code: 'protocol' });
  });
});
