/**
 * The sync layer against what a verified but hostile (or broken) peer could send: readSyncMessage
 * may only throw SyncProtocolError, and SyncEngine must drop and count what it cannot use, let
 * nothing escape, and keep the document usable for the good messages that follow.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryDocumentStore } from '../../src/lib/storage/memory';
import { DELETIONS_DIGEST_BYTES, documentState } from '../../src/lib/storage/state';
import { MAX_TOPIC_LENGTH, MAX_TOPICS, MAX_WEIGHT, MESSAGE_SYNC, MESSAGE_TOPICS, readSyncMessage, SyncProtocolError, writeSync, writeTopics } from '../../src/lib/sync/protocol';
import { SyncEngine, type SyncChannel } from '../../src/lib/sync/engine';
import type { VerifiedPeer } from '../../src/lib/transport/peer-session';
import type { PeerId } from '../../src/lib/transport/types';
import { Emitter } from '../../src/lib/util/emitter';
import { fuzz, fuzzSeed, logReport, mixed, mutate, randomBytesInput, seededRandom, seedPlatformRandomness, varUint, type Random } from './fuzz';

const TOPIC = 'chat/self/main';

/** What a real peer sends about a document: step 1, step 2 and updates, for `TOPIC` and others. */
function realMessages(random: Random): { whole: Uint8Array[]; bodies: Uint8Array[] } {
	const ours = new Y.Doc();
	const theirs = new Y.Doc();
	// Fixed client ids, so that the same seed makes the same messages.
	ours.clientID = random.uint32();
	theirs.clientID = random.uint32();
	const updates: Uint8Array[] = [];
	theirs.on('update', (update: Uint8Array) => updates.push(update));
	for (let i = 0; i < 12; i++) {
		theirs.getText('text').insert(random.below(theirs.getText('text').length + 1), `word ${i} `);
		theirs.getMap('meta').set(`key${random.below(4)}`, random.pick([i, `value ${i}`, { nested: [i, true] }]));
		theirs.getArray('list').push([random.below(1000)]);
		if (i % 3 === 2) theirs.getText('text').delete(0, 3);
	}
	ours.getText('text').insert(0, 'ours');
	const bodies = [
		...updates.map((update) => body((e) => syncProtocol.writeUpdate(e, update))),
		body((e) => syncProtocol.writeSyncStep1(e, theirs)),
		body((e) => syncProtocol.writeSyncStep2(e, theirs, Y.encodeStateVector(ours))),
		body((e) => syncProtocol.writeSyncStep2(e, theirs)),
		body((e) => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(theirs)))
	];
	const whole = [
		writeTopics([{ topic: TOPIC, weight: 3 }]),
		writeTopics([{ topic: TOPIC, weight: 0 }, { topic: 'chat/other', weight: MAX_WEIGHT }, { topic: 'x'.repeat(MAX_TOPIC_LENGTH), weight: 127 }]),
		writeTopics([]),
		// With states: what a peer announces of documents it holds.
		writeTopics([
			{ topic: TOPIC, weight: 12, state: documentState(theirs) },
			{ topic: 'chat/other', weight: 1, state: documentState(ours) },
			{ topic: 'chat/excerpt', weight: 2 }
		]),
		...bodies.map((b) => writeSync(TOPIC, (e) => encoding.writeUint8Array(e, b))),
		writeSync('chat/other', (e) => syncProtocol.writeSyncStep1(e, ours))
	];
	return { whole, bodies };
}

function body(write: (encoder: encoding.Encoder) => void): Uint8Array {
	const encoder = encoding.createEncoder();
	write(encoder);
	return encoding.toUint8Array(encoder);
}

function checkSyncMessage(value: unknown): void {
	const message = value as ReturnType<typeof readSyncMessage>;
	if (message.type === MESSAGE_TOPICS) {
		expect(message.topics.length).toBeLessThanOrEqual(MAX_TOPICS);
		for (const { topic, weight, state } of message.topics) {
			expect(topic.length >= 1 && topic.length <= MAX_TOPIC_LENGTH).toBe(true);
			expect(Number.isSafeInteger(weight) && weight >= 0 && weight <= MAX_WEIGHT).toBe(true);
			if (!state) continue;
			expect(state.deletions.length).toBe(DELETIONS_DIGEST_BYTES);
			for (const [client, clock] of state.vector) expect(Number.isSafeInteger(client) && Number.isSafeInteger(clock) && clock >= 0).toBe(true);
		}
	} else {
		expect(message.type).toBe(MESSAGE_SYNC);
		expect(message.topic.length >= 1 && message.topic.length <= MAX_TOPIC_LENGTH).toBe(true);
		expect(message.body).toBeInstanceOf(Uint8Array);
	}
}

describe('fuzz: sync messages', () => {
	it('readSyncMessage returns a message or throws SyncProtocolError', () => {
		const seed = fuzzSeed(0x5e4c_2001);
		const random = seededRandom(seed);
		const { whole } = realMessages(random);
		const inputs = mixed(random, 20_000, [
			[3, (r) => randomBytesInput(r, 512, [MESSAGE_TOPICS, MESSAGE_SYNC])],
			[6, (r) => mutate(r, r.pick(whole), whole)],
			// Huge counts and lengths right after the type byte.
			[1, (r) => Uint8Array.from([r.pick([MESSAGE_TOPICS, MESSAGE_SYNC]), ...varUint(r.pick([MAX_TOPICS, MAX_TOPICS + 1, 2 ** 32, 2 ** 53 - 1])), ...r.bytes(r.below(8))])]
		]);
		const report = fuzz({ suite: 'readSyncMessage', seed, inputs, allowed: [SyncProtocolError], run: readSyncMessage, check: checkSyncMessage });
		logReport('readSyncMessage', report);
		expect(report.inputs).toBe(20_000);
		expect(report.accepted).toBeGreaterThan(1000);
	});
});

/** A channel with one verified peer, whose messages the test hands to the engine. */
class PeerChannel extends Emitter<{ authenticated: VerifiedPeer; closed: PeerId; message: { peer: PeerId; data: Uint8Array } }> implements SyncChannel {
	readonly peer: VerifiedPeer = { peer: 'peer-1', account: 'account', device: 'device-1' };
	/** What the engine sent the peer last, and how many messages in all. */
	last: Uint8Array | undefined;
	sentCount = 0;

	get authenticatedPeers(): VerifiedPeer[] {
		return [this.peer];
	}

	send(_peer: PeerId, data: Uint8Array): void {
		this.sentCount++;
		this.last = data;
	}

	deliver(data: Uint8Array): void {
		this.emit('message', { peer: this.peer.peer, data });
	}
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('fuzz: the sync engine', () => {
	const escaped: unknown[] = [];
	const onRejection = (reason: unknown) => escaped.push(reason);
	/** y-protocols logs, and swallows, an update that Yjs cannot apply: counted here, not printed. */
	let swallowed = 0;
	beforeEach(() => {
		process.on('unhandledRejection', onRejection);
		swallowed = 0;
		vi.spyOn(console, 'error').mockImplementation((first: unknown) => {
			if (first === 'Caught error while handling a Yjs update') swallowed++;
			else escaped.push(first);
		});
	});
	afterEach(() => {
		process.off('unhandledRejection', onRejection);
		vi.restoreAllMocks();
	});

	it('drops and counts what a peer sends that it cannot use, and the document stays usable', async () => {
		const seed = fuzzSeed(0x5e4c_2002);
		const random = seededRandom(seed);
		// The engine's own documents draw their client ids from the platform: seeded too.
		seedPlatformRandomness(seededRandom(seed ^ 0x5eed));
		const { whole, bodies } = realMessages(random);
		const engine = new SyncEngine(new MemoryDocumentStore(), { acceptTopic: (topic) => topic.startsWith('chat/') });
		const channel = new PeerChannel();
		engine.attach(channel, () => true);
		const doc = await engine.open(TOPIC);
		doc.getText('text').insert(0, 'before the fuzz ');
		const header = writeSync(TOPIC, () => undefined);
		const withHeader = (b: Uint8Array) => {
			const out = new Uint8Array(header.length + b.length);
			out.set(header);
			out.set(b, header.length);
			return out;
		};
		const inputs = mixed(random, 12_000, [
			// A valid topic, then a mutated or random y-protocols message: what reaches Yjs.
			[5, (r) => withHeader(mutate(r, r.pick(bodies), bodies))],
			[2, (r) => withHeader(Uint8Array.from([r.below(3), ...randomBytesInput(r, 256)]))],
			[2, (r) => mutate(r, r.pick(whole), whole)],
			[1, (r) => randomBytesInput(r, 256, [MESSAGE_TOPICS, MESSAGE_SYNC])]
		]);
		let sinceTick = 0;
		const started = performance.now();
		let count = 0;
		for (const input of inputs) {
			channel.deliver(input);
			count++;
			if (++sinceTick === 50) {
				sinceTick = 0;
				await tick();
				if (escaped.length > 0) {
					throw new Error(`SyncEngine let ${String(escaped[0])} escape, FUZZ_SEED=${seed}, within inputs ${count - 50}..${count - 1}`);
				}
			}
		}
		await tick();
		await tick();
		console.log(
			`fuzz SyncEngine: ${count} messages, ${engine.rejectedMessages} rejected, ${swallowed} updates Yjs refused that y-protocols swallowed, ` +
				`${channel.sentCount} replies, ${Math.round(performance.now() - started)} ms`
		);
		expect(escaped).toEqual([]);
		expect(engine.rejectedMessages).toBeGreaterThan(count / 10);

		// Usable: a local change still goes to the peer, a good update from the peer still applies, and
		// a peer that asks for the state gets a step 2. (What that step 2 holds is the known bug below.)
		const sentBefore = channel.sentCount;
		doc.getText('text').insert(0, 'after ');
		expect(channel.sentCount).toBeGreaterThan(sentBefore);
		const good = new Y.Doc();
		good.getMap('good').set('still', 'works');
		channel.deliver(writeSync(TOPIC, (e) => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(good))));
		await tick();
		expect(doc.getMap('good').get('still')).toBe('works');
		expect(doc.getText('text').toString()).toMatch(/^after .*before the fuzz /s);
		const asked = channel.sentCount;
		channel.deliver(writeSync(TOPIC, (e) => syncProtocol.writeSyncStep1(e, new Y.Doc())));
		await tick();
		expect(channel.sentCount).toBe(asked + 1);
		const answer = decoding.createDecoder(channel.last!);
		expect([decoding.readVarUint(answer), decoding.readVarString(answer), decoding.readVarUint(answer)]).toEqual([MESSAGE_SYNC, TOPIC, syncProtocol.messageYjsSyncStep2]);
		expect(escaped).toEqual([]);
		await engine.close();
	});

	/** An engine with one verified peer that announced TOPIC, the document open. */
	async function engineWithPeer(): Promise<{ engine: SyncEngine; channel: PeerChannel; doc: Y.Doc; synced: VerifiedPeer[] }> {
		const engine = new SyncEngine(new MemoryDocumentStore());
		const channel = new PeerChannel();
		const synced: VerifiedPeer[] = [];
		engine.on('peer-synced', (peer) => synced.push(peer));
		engine.attach(channel, () => true);
		const doc = await engine.open(TOPIC);
		channel.deliver(writeTopics([{ topic: TOPIC, weight: 1 }]));
		await tick();
		return { engine, channel, doc, synced };
	}

	// y-protocols' readers catch what Y.applyUpdate throws, log it and carry on; the engine applies
	// updates itself so that a refused one is counted and a garbage step 2 marks no peer synced.
	it('an update Yjs refuses is counted, and a garbage step 2 does not mark the peer synced', async () => {
		const { engine, channel, synced } = await engineWithPeer();
		const garbageStep2 = writeSync(TOPIC, (e) => {
			encoding.writeVarUint(e, syncProtocol.messageYjsSyncStep2);
			encoding.writeVarUint8Array(e, new Uint8Array([1, 2, 3]));
		});
		channel.deliver(garbageStep2);
		await tick();
		expect(swallowed).toBe(0);
		expect(engine.rejectedMessages).toBe(1);
		expect(synced).toEqual([]);
		await engine.close();
	});

	// Yjs keeps what it cannot integrate yet (pending structs and delete sets) and merges it into every
	// state it encodes. Three updates a peer can send, found by the fuzz above and cut down, leave the
	// document showing "word 0 " with a pending struct that reuses the peer's client id and clocks under
	// a missing parent: merged into a step 2, it hid the text from a device syncing from this one. The
	// engine answers with the integrated state only (encodeIntegrated).
	it('after hostile updates, the step 2 the engine answers with still holds what the document shows', async () => {
		const { engine, channel, doc } = await engineWithPeer();
		const hostile = [
			'0214010180b8e7808001118880b8e7f20908017db00400',
			'0218010180b8e7f209000401047465787407776f726420302000',
			'0218010180b8e7f209000180b8e7f209000180040120000401047465782000'
		];
		for (const body of hostile) channel.deliver(writeSync(TOPIC, (e) => encoding.writeUint8Array(e, Uint8Array.from(Buffer.from(body, 'hex')))));
		await tick();
		expect(doc.getText('text').toString()).toBe('word 0 ');
		channel.deliver(writeSync(TOPIC, (e) => syncProtocol.writeSyncStep1(e, new Y.Doc())));
		await tick();
		const answer = decoding.createDecoder(channel.last!);
		decoding.readVarUint(answer);
		decoding.readVarString(answer);
		const fresh = new Y.Doc();
		syncProtocol.readSyncMessage(answer, encoding.createEncoder(), fresh, null);
		expect(fresh.getText('text').toString()).toBe('word 0 ');
		await engine.close();
	});
});
