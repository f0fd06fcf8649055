import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../signaling/log';
import { RedisDirectory } from '../../signaling/redis-directory';
import { RedisMailbox } from '../../signaling/redis-mailbox';
import type { ServerFrame } from '../../src/lib/transport/signaling-protocol';
import { Session } from '../../src/lib/session';
import { linkThroughHandshake, texts, until } from '../helpers/devices';
import { startSignalingServer, type SignalingServer } from '../../signaling/server';
import { WebRtcTransport } from '../../src/lib/transport/webrtc';
import { nodePeer, nodeSignaling, webRtcPlatform } from '../helpers/node-webrtc';
import { startRedis } from '../helpers/redis';
import { rawClient } from '../helpers/signaling-client';

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
async function instance(port = 0): Promise<SignalingServer & { stop(): Promise<void> }> {
	const directory = await RedisDirectory.connect(redis.url);
	const mailbox = await RedisMailbox.connect(redis.url);
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

	async function mailbox(clock: () => number = Date.now, maxRoomBytes = 1000) {
		const store = await RedisMailbox.connect(redis.url, { maxRoomBytes, ttlMs: 60_000 }, clock);
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
		await store.deposit(ROOM, { id: 'item-0001', data: 'A'.repeat(30) });
		time.now += 30_000;
		await store.deposit(OTHER_ROOM, { id: 'item-0001', data: 'B'.repeat(40) });
		expect(await store.totalBytes()).toBe(70);
		time.now += 30_001;
		expect(await store.totalBytes()).toBe(40);
		time.now += 30_000;
		expect(await store.totalBytes()).toBe(0);
		expect((await admin.keys('samen:mailbox*')).filter((key) => key !== 'samen:mailbox:bytes')).toEqual([]);
	});

	it('keeps the mailbox bound and byte count exact when two processes deposit and take at once', async () => {
		await emptyRedis();
		const [one, two] = [await mailbox(), await mailbox()];
		const item = (n: number) => ({ id: `item-${String(n).padStart(4, '0')}`, data: 'A'.repeat(60) });
		const accepted = await Promise.all(Array.from({ length: 20 }, (_, n) => (n % 2 ? one : two).deposit(ROOM, item(n))));
		expect(accepted.filter(Boolean)).toHaveLength(16);
		expect(await one.totalBytes()).toBe(960);
		const ids = (await one.list(ROOM)).map((stored) => stored.id);
		await Promise.all([one.take(ROOM, ids), two.take(ROOM, [...ids, ...ids])]);
		expect(await two.totalBytes()).toBe(0);
		expect(await one.deposit(ROOM, { id: 'item-full', data: 'A'.repeat(1000) })).toBe(true);
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
