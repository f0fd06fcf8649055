/**
 * What devices announce when they meet: each topic's stored state, so that only what one side
 * lacks is opened and sent; and how much a listed but hostile device can make another open.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { foreignChanges } from '../../src/lib/chats/foreign-updates';
import { MemoryDocumentStore } from '../../src/lib/storage/memory';
import { MAX_NEW_TOPICS_PER_PEER, SyncEngine, type SyncChannel } from '../../src/lib/sync/engine';
import { MAX_TOPICS, MESSAGE_SYNC, MESSAGE_TOPICS, readSyncMessage, writeSync, writeTopics } from '../../src/lib/sync/protocol';
import * as syncProtocol from 'y-protocols/sync';
import type { VerifiedPeer } from '../../src/lib/transport/peer-session';
import type { PeerId } from '../../src/lib/transport/types';
import { Emitter } from '../../src/lib/util/emitter';

type ChannelEvents = { authenticated: VerifiedPeer; closed: PeerId; message: { peer: PeerId; data: Uint8Array } };

/** One side of a connection between two devices; what it sends arrives at the other side a task later. */
class Side extends Emitter<ChannelEvents> implements SyncChannel {
	other!: Side;
	/** Everything this side sent, decoded. */
	readonly sent: ReturnType<typeof readSyncMessage>[] = [];
	constructor(readonly peerSeen: VerifiedPeer) {
		super();
	}
	get authenticatedPeers(): VerifiedPeer[] {
		return [this.peerSeen];
	}
	send(_peer: PeerId, data: Uint8Array): void {
		this.sent.push(readSyncMessage(data));
		setTimeout(() => this.other.deliver(data), 0);
	}
	/** What the other side sent arrives here. */
	deliver(data: Uint8Array): void {
		this.emit('message', { peer: this.peerSeen.peer, data });
	}
}

function connection(): [Side, Side] {
	const a = new Side({ peer: 'peer-b', account: 'acc', device: 'device-b' });
	const b = new Side({ peer: 'peer-a', account: 'acc', device: 'device-a' });
	a.other = b;
	b.other = a;
	return [a, b];
}

const topicsOf = (store: MemoryDocumentStore) => store.topics();

/** An engine over `store` that offers every topic stored there. */
async function device(store: MemoryDocumentStore): Promise<{ engine: SyncEngine; synced: Promise<void> }> {
	const known = await topicsOf(store);
	const engine = new SyncEngine(store, { knownTopics: () => known });
	const synced = new Promise<void>((resolve) => engine.on('peer-synced', () => resolve()));
	return { engine, synced };
}

/** A device's store holding `count` month documents of a few messages each. */
async function storeWith(topics: string[], write: (topic: string, doc: Y.Doc) => void = (topic, doc) => doc.getMap('messages').set(`${topic}-m`, { text: topic })): Promise<MemoryDocumentStore> {
	const store = new MemoryDocumentStore();
	const engine = new SyncEngine(store);
	for (const topic of topics) write(topic, await engine.open(topic));
	await engine.close();
	return store;
}

/** Another device's store holding copies of `topics` from `first`; `change` then changes `first` alone. */
async function copyOf(first: MemoryDocumentStore, topics: string[], change?: (from: SyncEngine) => Promise<void>): Promise<MemoryDocumentStore> {
	const second = new MemoryDocumentStore();
	const from = new SyncEngine(first);
	const to = new SyncEngine(second);
	for (const topic of topics) Y.applyUpdate(await to.open(topic), Y.encodeStateAsUpdate(await from.open(topic)));
	await change?.(from);
	await Promise.all([from.close(), to.close()]);
	return second;
}

/** A new device, holding nothing, meets the device of `first`; resolves once it is synced with it. */
async function newDeviceMeets(first: MemoryDocumentStore): Promise<{ a: Awaited<ReturnType<typeof device>>; b: Awaited<ReturnType<typeof device>>; sideA: Side }> {
	const a = await device(first);
	const b = await device(new MemoryDocumentStore());
	const [sideA, sideB] = connection();
	a.engine.attach(sideA, () => true);
	b.engine.attach(sideB, () => true);
	await b.synced;
	return { a, b, sideA };
}

const MONTHS = Array.from({ length: 12 }, (_, i) => `chat/c1/2026-${String(i + 1).padStart(2, '0')}`);

describe('meeting a peer', () => {
	it('opens no document when both hold the same, sends no step, and is synced at once', async () => {
		const first = await storeWith(MONTHS);
		// The second device holds copies of the same documents.
		const second = await copyOf(first, MONTHS);
		const a = await device(first);
		const b = await device(second);
		const [sideA, sideB] = connection();
		a.engine.attach(sideA, () => true);
		b.engine.attach(sideB, () => true);
		await Promise.all([a.synced, b.synced]);
		expect(a.engine.topics).toEqual([]);
		expect(b.engine.topics).toEqual([]);
		expect([...sideA.sent, ...sideB.sent].map((message) => message.type)).toEqual([MESSAGE_TOPICS, MESSAGE_TOPICS]);
		const announced = sideA.sent[0]!;
		expect(announced.type === MESSAGE_TOPICS && announced.topics.map((topic) => topic.topic).sort()).toEqual([...MONTHS].sort());
	});

	it('asks only for the topics it lacks something of, a deletion alone included', async () => {
		const first = await storeWith(MONTHS);
		const second = await copyOf(first, MONTHS, async (from) => {
			// On the first device: a message more in March, and one deleted in May (no new struct).
			(await from.open(MONTHS[2]!)).getMap('messages').set('new', { text: 'new in March' });
			(await from.open(MONTHS[4]!)).getMap('messages').delete(`${MONTHS[4]}-m`);
		});
		const a = await device(first);
		const b = await device(second);
		const [sideA, sideB] = connection();
		a.engine.attach(sideA, () => true);
		b.engine.attach(sideB, () => true);
		await Promise.all([a.synced, b.synced]);
		const asked = sideB.sent.flatMap((message) => (message.type === MESSAGE_SYNC && message.body[0] === syncProtocol.messageYjsSyncStep1 ? [message.topic] : []));
		expect(asked.sort()).toEqual([MONTHS[2], MONTHS[4]]);
		expect(b.engine.topics.sort()).toEqual([MONTHS[2], MONTHS[4]]);
		expect(b.engine.doc(MONTHS[2]!)!.getMap('messages').get('new')).toEqual({ text: 'new in March' });
		expect(b.engine.doc(MONTHS[4]!)!.getMap('messages').size).toBe(0);
	});
});

describe('a channel whose share narrows while the peers meet', () => {
	it('announces again: the peer is synced with what is still shared, and waits for nothing that is not', async () => {
		const STATE = 'chat/c1/state';
		const first = await storeWith([STATE, MONTHS[0]!]);
		const a = await device(first);
		const b = await device(new MemoryDocumentStore());
		const [sideA, sideB] = connection();
		// A chat's room becoming its handover room: from now on only the state document is shared there.
		let handover = false;
		const share = (_peer: VerifiedPeer, topic: string) => !handover || topic === STATE;
		// Each side announced both topics; B's question about the month reaches A after it stopped sharing it.
		const send = sideB.send.bind(sideB);
		sideB.send = (peer, data) => {
			const message = readSyncMessage(data);
			if (!handover && message.type === MESSAGE_SYNC && message.topic === MONTHS[0]) {
				handover = true;
				a.engine.reannounce(sideA);
				b.engine.reannounce(sideB);
			}
			send(peer, data);
		};
		a.engine.attach(sideA, share);
		b.engine.attach(sideB, share);
		await b.synced;
		expect(handover).toBe(true);
		expect((await b.engine.open(STATE)).getMap('messages').get(`${STATE}-m`)).toEqual({ text: STATE });
		expect(b.engine.progress).toBeUndefined();
		(await a.engine.open(MONTHS[0]!)).getMap('messages').set('later', { text: 'not shared here now' });
		(await a.engine.open(STATE)).getMap('messages').set('later', { text: 'still shared' });
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect((await b.engine.open(STATE)).getMap('messages').get('later')).toEqual({ text: 'still shared' });
		expect((await b.engine.open(MONTHS[0]!)).getMap('messages').size).toBe(0);
		await Promise.all([a.engine.close(), b.engine.close()]);
	});
});

describe('a new device', () => {
	it('is answered from storage as saved: the device that has the history opens none of its documents', async () => {
		const first = await storeWith(MONTHS, (topic, doc) => {
			// Two changes each: a snapshot and a change, or two changes, as each store keeps them.
			doc.getMap('messages').set(`${topic}-1`, { text: `${topic} one` });
			doc.getMap('messages').set(`${topic}-2`, { text: `${topic} two` });
		});
		const { a, b } = await newDeviceMeets(first);
		expect(a.engine.topics).toEqual([]);
		for (const topic of MONTHS) expect(b.engine.doc(topic)!.getMap('messages').toJSON()).toEqual({ [`${topic}-1`]: { text: `${topic} one` }, [`${topic}-2`]: { text: `${topic} two` } });
	});
});

describe('a stored state this device cannot announce', () => {
	it('a state vector damaged in storage is announced as no state: the peer asks for the topic whole, and the sync ends with it', async () => {
		const first = await storeWith(MONTHS);
		const damaged = MONTHS[3]!;
		// As storage could hand it back: a varuint that never ends, where the state vector was.
		const summaries = first.summaries.bind(first);
		first.summaries = async () => {
			const stored = await summaries();
			stored.set(damaged, { ...stored.get(damaged)!, stateVector: new Uint8Array([0xff, 0xff]) });
			return stored;
		};
		const { a, b, sideA } = await newDeviceMeets(first);
		const announced = sideA.sent.find((message) => message.type === MESSAGE_TOPICS);
		const topic = announced?.type === MESSAGE_TOPICS ? announced.topics.find((candidate) => candidate.topic === damaged) : undefined;
		expect(topic).toMatchObject({ topic: damaged, state: undefined });
		for (const month of MONTHS) expect(b.engine.doc(month)!.getMap('messages').toJSON()).toEqual({ [`${month}-m`]: { text: month } });
		await Promise.all([a.engine.close(), b.engine.close()]);
	});
});

describe('a listed device that announces topics it invents', () => {
	it(`makes this device open at most ${MAX_NEW_TOPICS_PER_PEER} documents it did not hold; the real ones still sync`, async () => {
		const store = await storeWith([]);
		const b = await device(store);
		const [, sideB] = connection();
		b.engine.attach(sideB, () => true);
		// The insider: a real month first, then as many invented names of the month pattern as an announcement holds.
		const real = new Y.Doc();
		real.getMap('messages').set('m', { text: 'real' });
		const invented = Array.from({ length: MAX_TOPICS - 1 }, (_, i) => ({ topic: `chat/x${i}/2026-01`, weight: 1 }));
		const fromInsider = (data: Uint8Array) => setTimeout(() => sideB.deliver(data), 0);
		// It answers each question: about the real month with it, about the invented ones with nothing.
		sideB.send = (_peer, data) => {
			const message = readSyncMessage(data);
			if (message.type !== MESSAGE_SYNC) return;
			const doc = message.topic === MONTHS[0] ? real : new Y.Doc();
			fromInsider(writeSync(message.topic, (e) => syncProtocol.writeSyncStep2(e, doc)));
		};
		fromInsider(writeTopics([{ topic: MONTHS[0]!, weight: 1 }, ...invented]));
		// And, past the bound, updates for still more invented topics.
		for (let i = 0; i < 10; i++) fromInsider(writeSync(`chat/y${i}/2026-01`, (e) => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(real))));
		await b.synced;
		await new Promise((resolve) => setTimeout(resolve, 50));
		expect(b.engine.doc(MONTHS[0]!)!.getMap('messages').get('m')).toEqual({ text: 'real' });
		expect(b.engine.topics.length).toBeLessThanOrEqual(MAX_NEW_TOPICS_PER_PEER);
		expect(b.engine.topics.some((topic) => topic.startsWith('chat/y'))).toBe(false);
		// Every name past the bound was refused: the rest of the announcement, and the ten updates.
		expect(b.engine.refusedTopics).toBe(MAX_TOPICS + 10 - MAX_NEW_TOPICS_PER_PEER);
		await b.engine.close();
	});
});

describe('a live update that follows on one lost in flight', () => {
	it('is refused by a device that checks updates, asked for again once, and arrives with what was lost', async () => {
		const topic = MONTHS[0]!;
		const first = await storeWith([topic]);
		const second = await copyOf(first, [topic]);
		const a = await device(first);
		// As a device checks another account's updates: nothing that leaves anything pending.
		const refusing = new SyncEngine(second, { knownTopics: () => [topic], acceptUpdate: (_topic, update, _from, doc) => foreignChanges(doc, update, ['messages']) !== undefined });
		const synced = new Promise<void>((resolve) => refusing.on('peer-synced', () => resolve()));
		const [sideA, sideB] = connection();
		a.engine.attach(sideA, () => true);
		refusing.attach(sideB, () => true);
		await Promise.all([a.synced, synced]);

		// Open on both sides, so that nothing but the refusal asks for it.
		await refusing.open(topic);
		await new Promise((resolve) => setTimeout(resolve, 20));
		// The room closes as the first change is on its way: it never arrives.
		const send = sideA.send.bind(sideA);
		sideA.send = () => undefined;
		const doc = await a.engine.open(topic);
		doc.getMap('messages').set('lost', { text: 'lost on the way' });
		sideA.send = send;
		const asked = sideB.sent.length;
		doc.getMap('messages').set('next', { text: 'the next one' });
		await until(() => refusing.doc(topic)?.getMap('messages').get('next') !== undefined);
		expect(refusing.doc(topic)!.getMap('messages').get('lost')).toEqual({ text: 'lost on the way' });
		expect(refusing.rejectedMessages).toBe(1);
		const questions = sideB.sent.slice(asked).filter((message) => message.type === MESSAGE_SYNC && message.body[0] === syncProtocol.messageYjsSyncStep1);
		expect(questions).toHaveLength(1);
		await Promise.all([a.engine.close(), refusing.close()]);
	});
});

async function until(condition: () => boolean): Promise<void> {
	for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
	expect(condition()).toBe(true);
}
