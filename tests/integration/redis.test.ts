import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../signaling/log';
import { RedisDirectory } from '../../signaling/redis-directory';
import { RedisMailbox } from '../../signaling/redis-mailbox';
import { Device } from '../../src/lib/device';
import { texts, until } from '../helpers/devices';
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
		const primary = await Device.createAccount(primaryPlatform, 'Ada', 'Laptop');
		const key = { secret: Buffer.from(primary.accountKey.secret).toString('base64url'), epoch: primary.accountKey.epoch };
		const phonePlatform = webRtcPlatform(first.url);
		const phone = await Device.joinAccount(phonePlatform, { accountName: 'Ada', key, deviceId: 'phone-1', deviceName: 'Phone' });
		cleanup.push(() => phone.close(), () => phonePlatform.signaling.close());
		primary.connect();
		await until([primary], () => primary.connection.network === 'online');
		await primary.sendMessage('self', 'written with nobody else online');
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
