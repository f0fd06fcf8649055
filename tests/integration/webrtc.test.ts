import 'fake-indexeddb/auto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Session } from '../../src/lib/session';
import { IndexedDbDocumentStore, IndexedDbKeyValueStore } from '../../src/lib/storage/indexeddb';
import { MAX_CHUNK_BYTES, splitMessage } from '../../src/lib/transport/framing';
import { WebRtcTransport, type PeerFactory } from '../../src/lib/transport/webrtc';
import { silentLogger } from '../../signaling/log';
import { startSignalingServer, type SignalingServer } from '../../signaling/server';
import { linkThroughHandshake, texts, until } from '../helpers/devices';
import { nodePeer, nodeSignaling, webRtcPlatform } from '../helpers/node-webrtc';
import { keyedRoom } from '../helpers/rooms';

let server: SignalingServer;
const cleanup: (() => unknown)[] = [];

beforeAll(async () => {
	server = await startSignalingServer({ port: 0, host: '127.0.0.1', log: silentLogger });
});
afterEach(async () => {
	for (const step of cleanup.splice(0).reverse()) await step();
});
afterAll(async () => {
	await server.close();
});

async function link(primary: Session, platform: ReturnType<typeof webRtcPlatform>, name: string): Promise<Session> {
	const primaryPlatform = webRtcPlatform(server.url);
	cleanup.push(() => primaryPlatform.signaling.close());
	const joined = await linkThroughHandshake(primary, platform.transport, primaryPlatform.transport, name);
	return Session.join(platform, joined);
}

describe('over real WebRTC and the real signaling server', () => {
	it('moves messages far larger than one data-channel chunk, whole and in order', async () => {
		const a = nodeSignaling(server.url);
		const b = nodeSignaling(server.url);
		cleanup.push(() => a.close(), () => b.close());
		const room = 'r'.repeat(32);
		const left = new WebRtcTransport(room, a, nodePeer);
		const right = new WebRtcTransport(room, b, nodePeer);
		cleanup.push(() => left.close(), () => right.close());
		const received: Uint8Array[] = [];
		right.on('message', ({ data }) => received.push(data));
		const connected = new Promise<string>((resolve) => left.on('peer-connected', resolve));
		left.connect();
		right.connect();
		const peer = await connected;
		const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
		expect(splitMessage(big).every((chunk) => chunk.length <= MAX_CHUNK_BYTES)).toBe(true);
		left.send(peer, new Uint8Array([1]));
		left.send(peer, big);
		left.send(peer, new Uint8Array([3]));
		await new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error('not all received')), 20_000);
			right.on('message', () => received.length === 3 && (clearTimeout(timer), resolve()));
		});
		expect(received[0]).toEqual(new Uint8Array([1]));
		// Compared as a Buffer: a deep equality over three million elements would take seconds.
		expect(Buffer.compare(Buffer.from(received[1]!), Buffer.from(big))).toBe(0);
		expect(received[2]).toEqual(new Uint8Array([3]));
	});

	/** Two transports in a fresh room; `right` joins second, so it opens the channel. */
	function pair(rightPeer: PeerFactory, leftPeer: PeerFactory = nodePeer, rightTimeoutMs?: number) {
		const a = nodeSignaling(server.url);
		const b = nodeSignaling(server.url);
		const room = `retry${Math.random().toString(36).slice(2)}`.padEnd(32, 'x');
		const left = new WebRtcTransport(room, a, leftPeer);
		const right = new WebRtcTransport(room, b, rightPeer, rightTimeoutMs);
		cleanup.push(() => left.close(), () => right.close(), () => a.close(), () => b.close());
		return { left, right };
	}

	async function exchange(left: WebRtcTransport, right: WebRtcTransport): Promise<void> {
		const connected = new Promise<string>((resolve) => left.on('peer-connected', resolve));
		const heard = new Promise<Uint8Array>((resolve) => right.on('message', ({ data }) => resolve(data)));
		left.connect();
		right.connect();
		const peer = await connected;
		left.send(peer, new Uint8Array([42]));
		expect(await heard).toEqual(new Uint8Array([42]));
	}

	it('tries a connection that failed again until it opens', async () => {
		let created = 0;
		const failingOnce: PeerFactory = (options) => {
			const peer = nodePeer(options);
			if (++created === 1) setTimeout(() => peer.destroy(new Error('lost on the way')), 0);
			return peer;
		};
		const { left, right } = pair(failingOnce);
		await exchange(left, right);
		expect(created).toBeGreaterThan(1);
	});

	it('tries again when the other page was too busy to answer the first attempt', async () => {
		let created = 0;
		// The first channel the busy side makes never takes in what it is sent, as a frozen page.
		const busyOnce: PeerFactory = (options) => {
			const peer = nodePeer(options);
			if (++created === 1) peer.signal = () => undefined;
			return peer;
		};
		const { left, right } = pair(nodePeer, busyOnce, 1_000);
		await exchange(left, right);
		expect(created).toBe(2);
	});

	it('links two devices, syncs history both ways, and keeps companions talking without the primary', async () => {
		const primaryPlatform = webRtcPlatform(server.url, {
			records: new IndexedDbKeyValueStore('primary-records'),
			documents: new IndexedDbDocumentStore('primary-doc:')
		});
		const primary = await Session.createAccount(primaryPlatform, 'Ada', 'Laptop');
		cleanup.push(() => primaryPlatform.signaling.close());
		for (let i = 0; i < 50; i++) await primary.chats.send('self', `history ${i}`);
		primary.connect();

		const phonePlatform = webRtcPlatform(server.url);
		const phone = await link(primary, phonePlatform, 'Phone');
		cleanup.push(() => phone.close(), () => phonePlatform.signaling.close());
		phone.connect();
		await until([phone], () => texts(phone).length === 50, 20_000);

		const tabletPlatform = webRtcPlatform(server.url);
		const tablet = await link(primary, tabletPlatform, 'Tablet');
		cleanup.push(() => tablet.close(), () => tabletPlatform.signaling.close());
		tablet.connect();
		await until([tablet], () => texts(tablet).length === 50 && tablet.devices.length === 3, 20_000);

		await phone.chats.send('self', 'from the phone');
		await until([primary, tablet], () => texts(primary).includes('from the phone') && texts(tablet).includes('from the phone'), 20_000);

		await primary.close();
		primaryPlatform.signaling.close();
		await until([phone, tablet], () => phone.connection.peers === 1 && tablet.connection.peers === 1, 20_000);
		await tablet.chats.send('self', 'primary is switched off');
		await until([phone], () => texts(phone).includes('primary is switched off'), 20_000);

		// The primary's IndexedDB kept everything: it comes back with its history and catches up.
		const revivedPlatform = webRtcPlatform(server.url, {
			records: new IndexedDbKeyValueStore('primary-records'),
			documents: new IndexedDbDocumentStore('primary-doc:')
		});
		const revived = await Session.restore(revivedPlatform);
		expect(revived).toBeDefined();
		cleanup.push(() => revived!.close(), () => revivedPlatform.signaling.close());
		// As the chat screen does: a month the chat list needs no more of opens when the chat is shown.
		await revived!.chats.show('self');
		expect(texts(revived!)).toContain('from the phone');
		revived!.connect();
		await until([revived!], () => texts(revived!).includes('primary is switched off'), 20_000);
		expect(revived!.devices.map((d) => d.name)).toEqual(['Laptop', 'Phone', 'Tablet']);
	});

	it('without WebRTC (no peer factory) a transport answers no offer and throws nothing, and the room’s mailbox still works', async () => {
		const { room, auth } = keyedRoom();
		const clients = [nodeSignaling(server.url), nodeSignaling(server.url), nodeSignaling(server.url)];
		cleanup.push(...clients.map((client) => () => client.close()));
		// A short connect timeout: the device that offers tries again several times during the test.
		const [writer, withoutRtc, late] = [
			new WebRtcTransport(room, clients[0]!, nodePeer, 1_000, auth),
			new WebRtcTransport(room, clients[1]!, undefined, 1_000, auth),
			new WebRtcTransport(room, clients[2]!, nodePeer, 1_000, auth)
		];
		cleanup.push(...[writer, withoutRtc, late].map((transport) => () => transport.close()));
		writer.connect();
		await until([], () => writer.status === 'online');
		const entry = { id: 'entry-for-the-device-without-webrtc', data: new Uint8Array(64).fill(7) };
		expect(await writer.mailbox.deposit(entry)).toBe(true);

		const received: string[] = [];
		withoutRtc.on('mailbox', (entries) => received.push(...entries.map(({ id }) => id)));
		withoutRtc.connect();
		await until([], () => received.length === 1);
		expect(received).toEqual([entry.id]);

		// `late` offers a channel to both: the device with WebRTC answers, the one without does not.
		late.connect();
		await until([], () => late.peers.size === 1, 15_000);
		await new Promise((resolve) => setTimeout(resolve, 3_000));
		expect(late.peers.size).toBe(1);
		expect(writer.peers.size).toBe(1);
		expect(withoutRtc.peers.size).toBe(0);
	});
});
