// The echo server against Node's `ws` (third_party/node, installed by
// tools/setup --test-clients). Run by ws_client_test.sh, which starts
// //examples/echo:echo and passes its address in ECHO_URL and the
// installed modules in NODE_PATH.
//
// Covers what an application-level client can do: echoes of every length
// encoding with permessage-deflate on and off, messages sent as fragments
// with pings between them, 16 MiB messages and the 1009 limit, ping/pong,
// the close codes a client may send, and invalid UTF-8 (1007).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const WebSocket = require('ws');

const URL = process.env.ECHO_URL;
const TIMEOUT_MS = Number(process.env.CLIENT_TIMEOUT || 60) * 1000;
const MIB = 1 << 20;
const LIMIT = 16 * MIB; // the server's default --max_message_size

// A ws connection with its messages, pongs and close queued for awaiting.
class Client {
  static open(options = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(URL, options);
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('error', reject);
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.waiters = [];
    this.pongs = [];
    ws.on('message', (data, isBinary) => this.push({ data, isBinary }));
    ws.on('pong', (data) => this.pongs.push(data));
    ws.on('error', () => {}); // a failed connection also emits 'close'
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const waiter of this.waiters.splice(0)) {
          waiter.reject(new Error(`closed with ${code}`));
        }
      });
    });
  }

  push(message) {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(message);
    else this.queue.push(message);
  }

  next() {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    if (this.ws.readyState === WebSocket.CLOSED) {
      return Promise.reject(new Error('closed'));
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  send(data, options = {}) {
    return new Promise((resolve, reject) => {
      this.ws.send(data, options, (error) => (error ? reject(error) : resolve()));
    });
  }

  async echo(data, binary) {
    await this.send(data, { binary });
    const reply = await this.next();
    assert.equal(reply.isBinary, binary);
    return reply.data;
  }

  async close(code, reason) {
    this.ws.close(code, reason);
    return this.closed;
  }
}

function textOf(size) {
  const letters = 'abcdefghij klmnop';
  let out = '';
  for (let i = 0; i < size; i++) out += letters[(i * 7 + (i >> 5)) % letters.length];
  return out;
}

const options = { timeout: TIMEOUT_MS };

for (const perMessageDeflate of [true, false]) {
  const mode = perMessageDeflate ? 'with compression' : 'without compression';

  test(`text and binary messages of every length encoding come back ${mode}`, options, async () => {
    const client = await Client.open({ perMessageDeflate });
    assert.equal(client.ws.extensions.includes('permessage-deflate'), perMessageDeflate);
    for (const size of [0, 1, 125, 126, 127, 65535, 65536, MIB]) {
      const text = textOf(size);
      assert.equal((await client.echo(text, false)).toString(), text);
      const bytes = crypto.randomBytes(size);
      assert.ok((await client.echo(bytes, true)).equals(bytes));
    }
    assert.equal((await client.close(1000)).code, 1000);
  });

  test(`fragments with pings between them come back as one message ${mode}`, options, async () => {
    const client = await Client.open({ perMessageDeflate });
    await client.send('Hel', { fin: false });
    client.ws.ping('between fragments');
    await client.send('lo, ', { fin: false });
    await client.send('world', { fin: true });
    const reply = await client.next();
    assert.equal(reply.isBinary, false);
    assert.equal(reply.data.toString(), 'Hello, world');
    assert.deepEqual(client.pongs.map(String), ['between fragments']);

    const chunks = [];
    for (let i = 0; i < 1024; i++) chunks.push(crypto.randomBytes(1024));
    for (let i = 0; i < chunks.length; i++) {
      client.send(chunks[i], { binary: true, fin: i === chunks.length - 1 });
    }
    const whole = await client.next();
    assert.equal(whole.isBinary, true);
    assert.ok(whole.data.equals(Buffer.concat(chunks)));
    await client.close(1000);
  });

  test(`a 16 MiB message comes back ${mode}`, options, async () => {
    const client = await Client.open({ perMessageDeflate, maxPayload: 2 * LIMIT });
    const bytes = crypto.randomBytes(LIMIT);
    assert.ok((await client.echo(bytes, true)).equals(bytes));
    const text = textOf(LIMIT);
    assert.ok((await client.echo(text, false)).toString() === text);
    await client.close(1000);
  });

  test(`a message over 16 MiB fails the connection with 1009 ${mode}`, options, async () => {
    const client = await Client.open({ perMessageDeflate });
    client.send(crypto.randomBytes(LIMIT + 1), { binary: true }).catch(() => {});
    assert.equal((await client.closed).code, 1009);
  });
}

test('a ping is answered with a pong carrying its payload', options, async () => {
  const client = await Client.open();
  for (const payload of ['', 'ping!', 'x'.repeat(125)]) {
    client.ws.ping(payload);
    assert.equal((await client.echo('after ping', false)).toString(), 'after ping');
  }
  assert.deepEqual(client.pongs.map(String), ['', 'ping!', 'x'.repeat(125)]);
  await client.close(1000);
});

test('the close codes a client may send are echoed', options, async () => {
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                      3000, 3999, 4000, 4999]) {
    const client = await Client.open();
    const closed = await client.close(code, 'reason');
    assert.equal(closed.code, code, `code ${code}`);
  }
});

test('invalid UTF-8 in a text message fails the connection with 1007', options, async () => {
  const client = await Client.open({ perMessageDeflate: false });
  client.send(Buffer.from([0x68, 0x69, 0xff, 0xfe]), { binary: false }).catch(() => {});
  assert.equal((await client.closed).code, 1007);
});
