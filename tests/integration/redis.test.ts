import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../signaling/log';
import { mailboxItemCost, type MailboxLimits } from '../../signaling/mailbox';
import { RedisDirectory } from '../../signaling/redis-directory';
import { RedisMailbox } from '../../signaling/redis-mailbox';
import { signMailboxOp, type MailboxItem, type ServerFrame } from '../../src/lib/transport/signaling-protocol';
import { Session } from '../../src/lib/session';
import { linkThroughHandshake, texts, until } from '../helpers/devices';
import { startSignalingServer, type SignalingServer } from '../../signaling/server';
import { WebRtcTransport } from '../../src/lib/transport/webrtc';
import { nodePeer, nodeSignaling, webRtcPlatform } from '../helpers/node-webrtc';
import { startRedis } from '../helpers/redis';
import { keyedRoom, type KeyedRoom } from '../helpers/rooms';
import { rawClient, type RawClient } from '../helpers/signaling-client';

let redis: Awaited<ReturnType<typeof startRedis>>;
const cleanup: (() => unknown)[] = [];

beforeAll(async () => {
	redis = await startRedis();
});
afterEach(async () => {
	for (const step of cleanup.splice(0).reverse()) await step();
});
afterAll(async () => {
	await redis.stop();
});

/** A server process sharing the room directory and the mailbox in Redis. */
async function instance(port = 0, limits: Partial<MailboxLimits> = {}): Promise<SignalingServer & { stop(): Promise<void> }> {
	const directory = await RedisDirectory.connect(redis.url);
	const mailbox = await RedisMailbox.connect(redis.url, limits);
	const server = await startSignalingServer({ port, host: '127.0.0.1', log: silentLogger, directory, mailbox });
	let stopped = false;
	const stop = async () => {
		if (stopped) return;
		stopped = true;
		await server.close();
		await directory.close();
		await mailbox.close();
	};
	cleanup.push(stop);
	return Object.assign(server, { stop });
}

const ROOM = 'r'.repeat(32);
/** Account rooms: the mailbox takes deposits and takes signed by their keys. */
const [BOX, OTHER_BOX] = [keyedRoom(), keyedRoom()] as [KeyedRoom, KeyedRoom];

function joinWithKey(client: RawClient, room: KeyedRoom): void {
	client.send({ type: 'join', room: room.room, key: room.key });
}

function deposit(client: RawClient, room: KeyedRoom, item: MailboxItem): void {
	client.send(signMailboxOp(room.auth, client.self, { type: 'deposit', room: room.room, ...item }));
}

function take(client: RawClient, room: KeyedRoom, ids: string[]): void {
	client.send(signMailboxOp(room.auth, client.self, { type: 'take', room: room.room, ids }));
}

describe('several server processes on one Redis', () => {
	it('introduces peers connected to different processes and forwards between them', async () => {
		const [one, two] = [await instance(), await instance()];
		const a = await rawClient(one.url);
		const b = await rawClient(two.url);
		a.send({ type: 'join', room: ROOM });
		expect(await a.next('joined')).toEqual({ type: 'joined', room: ROOM, peers: [] });
		b.send({ type: 'join', room: ROOM });
		expect(await b.next('joined')).toEqual({ type: 'joined', room: ROOM, peers: [a.self] });
		expect(await a.next('peer-joined')).toEqual({ type: 'peer-joined', room: ROOM, peer: b.self });
		b.send({ type: 'signal', room: ROOM, to: a.self, data: { type: 'offer', sdp: 'v=0' } });
		expect(await a.next('signal')).toEqual({ type: 'signal', room: ROOM, from: b.self, data: { type: 'offer', sdp: 'v=0' } });
		a.send({ type: 'signal', room: ROOM, to: b.self, data: { type: 'answer', sdp: 'v=0' } });
		expect(await b.next('signal')).toMatchObject({ from: a.self, data: { type: 'answer' } });
		b.ws.close();
		expect(await a.next('peer-left')).toEqual({ type: 'peer-left', room: ROOM, peer: b.self });
		const c = await rawClient(two.url);
		c.send({ type: 'join', room: ROOM });
		expect(await c.next('joined')).toEqual({ type: 'joined', room: ROOM, peers: [a.self] });
		a.ws.close();
		c.ws.close();
	});

	it('lets two devices on different processes complete a WebRTC handshake', async () => {
		const [one, two] = [await instance(), await instance()];
		const left = new WebRtcTransport(ROOM, nodeSignaling(one.url), nodePeer);
		const right = new WebRtcTransport(ROOM, nodeSignaling(two.url), nodePeer);
		cleanup.push(() => left.close(), () => right.close());
		const received = new Promise<Uint8Array>((resolve) => right.on('message', ({ data }) => resolve(data)));
		const connected = new Promise<string>((resolve) => left.on('peer-connected', resolve));
		left.connect();
		right.connect();
		left.send(await connected, new TextEncoder().encode('across processes'));
		expect(new TextDecoder().decode(await received)).toBe('across processes');
	});

	it('forgets the members of a process that shut down', async () => {
		const one = await instance();
		const directory = await RedisDirectory.connect(redis.url);
		const two = await startSignalingServer({ port: 0, host: '127.0.0.1', log: silentLogger, directory });
		const gone = await rawClient(two.url);
		gone.send({ type: 'join', room: ROOM });
		await gone.next('joined');
		await two.close();
		await directory.close();
		const a = await rawClient(one.url);
		a.send({ type: 'join', room: ROOM });
		expect(await a.next('joined')).toEqual({ type: 'joined', room: ROOM, peers: [] });
		a.ws.close();
	});

	it('keeps mailbox frames across a server restart and hands them to the device that comes later', async () => {
		const first = await instance();
		const port = first.port;
		const primaryPlatform = webRtcPlatform(first.url);
		const primary = await Session.createAccount(primaryPlatform, 'Ada', 'Laptop');
		const phonePlatform = webRtcPlatform(first.url);
		const primaryLinkPlatform = webRtcPlatform(first.url);
		const joined = await linkThroughHandshake(primary, phonePlatform.transport, primaryLinkPlatform.transport, 'Phone');
		primaryLinkPlatform.signaling.close();
		const phone = await Session.join(phonePlatform, joined);
		cleanup.push(() => phone.close(), () => phonePlatform.signaling.close());
		primary.connect();
		await until([primary], () => primary.connection.network === 'online');
		await primary.chats.send('self', 'written with nobody else online');
		await until([primary], () => /^samen_mailbox_bytes [1-9]/m.test(first.metrics()));
		expect(first.metrics()).toMatch(/^samen_mailbox_items [1-9]/m);
		await primary.close();
		primaryPlatform.signaling.close();

		await first.stop();
		await instance(port);
		phone.connect();
		await until([phone], () => texts(phone).includes('written with nobody else online'), 20_000);
		expect(phone.connection.peers).toBe(0);
	});
});

describe('the Redis stores of several processes', () => {
	const OTHER_ROOM = 'o'.repeat(32);
	const item = (id: string, chars: number): MailboxItem => ({ id, data: 'A'.repeat(chars) });

	async function mailbox(clock: () => number = Date.now, limits: Partial<MailboxLimits> = {}) {
		const store = await RedisMailbox.connect(redis.url, { maxRoomBytes: 1000, ttlMs: 60_000, ...limits }, clock);
		cleanup.push(() => store.close());
		return store;
	}

	async function emptyRedis() {
		const admin = new Redis(redis.url);
		cleanup.push(() => admin.disconnect());
		await admin.flushall();
		return admin;
	}

	it('stops counting expired mailbox items of a room nobody opens again, and keeps no key for them', async () => {
		const admin = await emptyRedis();
		const time = { now: Date.UTC(2026, 0, 1) };
		const store = await mailbox(() => time.now);
		const [a, b] = [item('item-0001', 30), item('item-0001', 40)];
		await store.deposit(ROOM, a);
		time.now += 30_000;
		await store.deposit(OTHER_ROOM, b);
		expect(await store.usage()).toEqual({ bytes: mailboxItemCost(a) + mailboxItemCost(b), items: 2 });
		time.now += 30_001;
		expect(await store.usage()).toEqual({ bytes: mailboxItemCost(b), items: 1 });
		time.now += 30_000;
		expect(await store.usage()).toEqual({ bytes: 0, items: 0 });
		const counters = ['samen:mailbox:bytes', 'samen:mailbox:count', 'samen:mailbox:layout'];
		expect((await admin.keys('samen:mailbox*')).filter((key) => !counters.includes(key))).toEqual([]);
	});

	it('keeps the mailbox bounds and counts exact when two processes deposit and take at once', async () => {
		await emptyRedis();
		const item60 = (n: number) => item(`item-${String(n).padStart(4, '0')}`, 60);
		const maxRoomBytes = 16 * mailboxItemCost(item60(0));
		const [one, two] = [await mailbox(Date.now, { maxRoomBytes }), await mailbox(Date.now, { maxRoomBytes })];
		const outcomes = await Promise.all(Array.from({ length: 20 }, (_, n) => (n % 2 ? one : two).deposit(ROOM, item60(n))));
		expect(outcomes.filter((outcome) => outcome === 'stored')).toHaveLength(16);
		expect(outcomes.filter((outcome) => outcome === 'room-bytes')).toHaveLength(4);
		expect(await one.usage()).toEqual({ bytes: maxRoomBytes, items: 16 });
		const ids = (await one.list(ROOM)).map((stored) => stored.id);
		await Promise.all([one.take(ROOM, ids), two.take(ROOM, [...ids, ...ids])]);
		expect(await two.usage()).toEqual({ bytes: 0, items: 0 });
		const whole = item('item-full', 0);
		expect(await one.deposit(ROOM, item('item-full', maxRoomBytes - mailboxItemCost(whole)))).toBe('stored');
	});

	it('holds every process to one total bound, and counts its refusals where they happen', async () => {
		await emptyRedis();
		const cost = mailboxItemCost(item('item-0001', 60));
		const [one, two] = [await instance(0, { maxTotalBytes: 2 * cost }), await instance(0, { maxTotalBytes: 2 * cost })];
		const a = await rawClient(one.url);
		const b = await rawClient(two.url);
		for (const client of [a, b]) {
			joinWithKey(client, BOX);
			await client.next('joined');
		}
		deposit(a, BOX, item('item-0001', 60));
		deposit(b, BOX, item('item-0002', 60));
		joinWithKey(b, OTHER_BOX);
		await b.next('joined');
		joinWithKey(a, OTHER_BOX);
		await a.next('joined');
		// At the total: one more deposit through either process, in any room, is refused.
		deposit(a, OTHER_BOX, item('item-0003', 54));
		expect(await a.next('error')).toEqual({ type: 'error', code: 'mailbox-full', message: 'the server’s mailboxes are full', id: 'item-0003' });
		expect(one.metrics()).toMatch(/^samen_frames_rejected_total\{reason="mailbox-total"\} 1$/m);
		expect(two.metrics()).not.toMatch(/mailbox-total/);
		expect(one.metrics()).toMatch(new RegExp(`^samen_mailbox_bytes ${2 * cost}$`, 'm'));
		expect(one.metrics()).toMatch(/^samen_mailbox_items 2$/m);
		take(b, BOX, ['item-0001']);
		deposit(b, OTHER_BOX, item('item-0003', 60));
		b.send({ type: 'join', room: 'x'.repeat(32) });
		await b.next('joined');
		expect(b.frames.filter((frame) => frame.type === 'error')).toEqual([]);
		expect(a.ws.readyState).toBe(a.ws.OPEN);
		for (const client of [a, b]) client.ws.close();
	});

	it('checks room keys on the process that holds the socket: a signature replayed through another process is refused', async () => {
		await emptyRedis();
		const [one, two] = [await instance(), await instance()];
		const device = await rawClient(one.url);
		joinWithKey(device, BOX);
		await device.next('joined');
		deposit(device, BOX, item('item-0001', 60));
		await device.next('deposited');
		// On the other process: one that joined with the key but replays the device's signed take, one without the key.
		const thief = await rawClient(two.url);
		joinWithKey(thief, BOX);
		await thief.next('joined');
		thief.send(signMailboxOp(BOX.auth, device.self, { type: 'take', room: BOX.room, ids: ['item-0001'] }));
		expect(await thief.next('error')).toMatchObject({ code: 'forbidden' });
		const stranger = await rawClient(two.url);
		stranger.send({ type: 'join', room: BOX.room });
		await stranger.next('joined');
		stranger.send({ type: 'deposit', room: BOX.room, ...item('item-0001', 54) });
		expect(await stranger.next('error')).toMatchObject({ code: 'forbidden', id: 'item-0001' });
		expect(two.metrics()).toMatch(/^samen_frames_rejected_total\{reason="forbidden"\} 2$/m);
		// A device of the room on the second process finds the item untouched, and takes it.
		const phone = await rawClient(two.url);
		joinWithKey(phone, BOX);
		await phone.next('joined');
		expect(await phone.next('mailbox')).toEqual({ type: 'mailbox', room: BOX.room, items: [item('item-0001', 60)] });
		take(phone, BOX, ['item-0001']);
		joinWithKey(phone, OTHER_BOX);
		await phone.next('joined');
		expect(two.metrics()).toMatch(/^samen_mailbox_items 0$/m);
		for (const client of [device, thief, stranger, phone]) client.ws.close();
	});

	it('recounts, once, a Redis whose counts an earlier server wrote (data bytes only, no items)', async () => {
		const admin = await emptyRedis();
		const at = Date.now();
		// The earlier layout: items, the expiry index, and byte counts of data only.
		await admin.hset(`samen:mailbox:items:${ROOM}`, 'item-0001', JSON.stringify({ data: 'A'.repeat(60), at }));
		await admin.hset(`samen:mailbox:items:${ROOM}`, 'item-0002', JSON.stringify({ data: 'A'.repeat(40), at }));
		await admin.hset(`samen:mailbox:items:${OTHER_ROOM}`, 'item-0001', JSON.stringify({ data: 'A'.repeat(54), at }));
		await admin.zadd('samen:mailbox:expiry', at, `${ROOM} item-0001`, at, `${ROOM} item-0002`, at, `${OTHER_ROOM} item-0001`);
		await admin.hset('samen:mailbox:room-bytes', ROOM, 100, OTHER_ROOM, 54);
		await admin.set('samen:mailbox:bytes', 154);
		const costs = [60, 40, 54].map((chars) => mailboxItemCost(item('item-0001', chars)));
		const roomBytes = costs[0]! + costs[1]!;
		const store = await mailbox(Date.now, { maxRoomBytes: roomBytes + 200, maxRoomItems: 2 });
		expect(await store.usage()).toEqual({ bytes: roomBytes + costs[2]!, items: 3 });
		expect(await admin.hgetall('samen:mailbox:room-items')).toEqual({ [ROOM]: '2', [OTHER_ROOM]: '1' });
		expect(await admin.hgetall('samen:mailbox:room-bytes')).toEqual({ [ROOM]: String(roomBytes), [OTHER_ROOM]: String(costs[2]) });
		expect(await store.deposit(ROOM, item('item-0003', 54)), 'the room is at its item bound').toBe('room-items');
		expect(await store.deposit(ROOM, item('item-0002', 40 + 201)), 'one byte past its byte bound').toBe('room-bytes');
		expect(await store.deposit(ROOM, item('item-0002', 40 + 200)), 'at its byte bound').toBe('stored');
		// A second process connecting later counts nothing twice.
		await store.take(ROOM, ['item-0002']);
		const later = await mailbox();
		expect(await later.usage()).toEqual({ bytes: costs[0]! + costs[2]!, items: 2 });
		await later.take(ROOM, ['item-0001']);
		await later.take(OTHER_ROOM, ['item-0001']);
		expect(await store.usage()).toEqual({ bytes: 0, items: 0 });
	});

	it('runs the same Redis commands for a deposit into a room of 10,000 items as into an empty room', async () => {
		const admin = await emptyRedis();
		const store = await mailbox(Date.now, { maxRoomBytes: 1 << 30, maxRoomItems: 1 << 20, maxTotalBytes: 1 << 30 });
		const id = (n: number) => `item-${String(n).padStart(8, '0')}`;
		await Promise.all(Array.from({ length: 10_000 }, (_, n) => store.deposit(OTHER_ROOM, item(id(n), 60))));
		/** Calls per Redis command while `work` runs, leaving out the scripts themselves and this probe. */
		async function commands(work: () => Promise<unknown>): Promise<Record<string, number>> {
			await admin.config('RESETSTAT');
			await work();
			const calls: Record<string, number> = {};
			for (const [, name, count] of (await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
				if (!['eval', 'evalsha', 'info', 'config'].includes(name!)) calls[name!] = Number(count);
			}
			return calls;
		}
		const deposits = async (room: (n: number) => string, first: number) => {
			for (let n = 0; n < 100; n++) await store.deposit(room(n), item(id(first + n), 60));
		};
		// Each deposit of the empty case into a room of its own.
		const empty = await commands(() => deposits((n) => `room-${n}`.padEnd(32, 'e'), 0));
		const full = await commands(() => deposits(() => OTHER_ROOM, 10_000));
		expect(full).toEqual(empty);
		expect(Object.values(full).reduce((sum, calls) => sum + calls, 0) / 100).toBeLessThanOrEqual(12);
	});

	it('hands a frame only to a peer still in its room, also when the sender’s process cached where the peer was', async () => {
		await emptyRedis();
		const [one, two] = [await RedisDirectory.connect(redis.url), await RedisDirectory.connect(redis.url)];
		cleanup.push(() => one.close(), () => two.close());
		const peer = (id: string) => {
			const frames: ServerFrame[] = [];
			return { id, frames, send: (frame: ServerFrame) => frames.push(frame) };
		};
		const [leaving, staying] = [peer('b000000000000002'), peer('c000000000000003')];
		for (const local of [leaving, staying]) {
			two.attach(local);
			await two.join(ROOM, local.id);
		}
		await two.join(OTHER_ROOM, leaving.id);
		const signal = (n: number): ServerFrame => ({ type: 'signal', room: ROOM, from: 'a000000000000001', data: { n } });
		const arrived = async (local: { frames: ServerFrame[] }) => {
			while (local.frames.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
		};
		expect(await one.deliver(ROOM, leaving.id, signal(1))).toBe(true);
		await arrived(leaving);
		await two.leave(ROOM, leaving.id);
		await one.deliver(ROOM, leaving.id, signal(2));
		// One channel to process two, in order: once the last frame is in, the one before it has come or never will.
		expect(await one.deliver(ROOM, staying.id, signal(3))).toBe(true);
		await arrived(staying);
		expect(leaving.frames).toEqual([signal(1)]);
		expect(staying.frames).toEqual([signal(3)]);
	});
});
