/**
 * SecureChannel (src/lib/transport/peer-session.ts) against frames from three kinds of hostile peer,
 * while two good peers, A and B, share the room and keep talking:
 *   1. a stranger in the room without the psk, sending random frames and mutations of the frames A
 *      and B exchanged (captured by wrapping their transports' send); it is reconnected whenever it
 *      is refused, so that every frame meets a fresh handshake state;
 *   2. someone on the path between A and B, whose random and mutated frames arrive as B's on A and
 *      as A's on B, in the middle of their authenticated session;
 *   3. a peer that holds the psk (an attacker with a stolen epoch key; the good peers' policy admits
 *      anyone, as session.test.ts's attackerChannel does), completes the Noise handshake through
 *      the network, and then sends well-sealed DATA frames with random kinds, bodies and counters,
 *      some with broken padding inside the seal, and mutated seals.
 * Frames are handed to the victim's transport synchronously (MemoryTransport.receive, the hook the
 * in-memory network delivers through), so that an exception that escapes the channel surfaces with
 * the frame that caused it. Afterwards A and B are still authenticated to each other, every message
 * they sent during the fuzz arrived, they exchange one more, rejectedFrames grew, and what the
 * channel holds stayed bounded.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { concatBytes, generateAgreementKeyPair } from '../../src/lib/crypto';
import { encryptAt, NOISE_XXPSK3, NoiseHandshake } from '../../src/lib/crypto/noise';
import { pad } from '../../src/lib/protocol/padding';
import { writeDataFrame } from '../../src/lib/protocol/session';
import { MemoryNetwork, type MemoryTransport } from '../../src/lib/transport/memory';
import { SecureChannel, type SessionPolicy } from '../../src/lib/transport/peer-session';
import { fuzz, fuzzSeed, heapHeld, logReport, mixed, MiB, mutate, randomBytesInput, seededRandom, seedPlatformRandomness, type Random } from './fuzz';

const ROOM = 'fuzz-room';
const HANDSHAKE = 1;
const DATA = 2;
const text = new TextEncoder();
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function prologue(): Uint8Array {
	return concatBytes(text.encode('samen/v1/session'), text.encode(ROOM));
}

interface GoodPeer {
	name: string;
	transport: MemoryTransport;
	channel: SecureChannel;
	/** What the other good peer sent, as text. */
	received: string[];
	/** Frames this peer sent the other good peer, `partner`. */
	captured: Uint8Array[];
	partner?: string;
}

function goodPeer(network: MemoryNetwork, name: string, psk: Uint8Array): GoodPeer {
	const transport = network.transport(ROOM);
	const peer: GoodPeer = { name, transport, channel: undefined!, received: [], captured: [] };
	const send = transport.send.bind(transport);
	transport.send = (to, data) => {
		if (to === peer.partner && peer.captured.length < 400) peer.captured.push(data.slice());
		send(to, data);
	};
	const policy: SessionPolicy = {
		staticKeys: generateAgreementKeyPair(),
		psk,
		prologue: prologue(),
		introduction: () => Uint8Array.of(1, 0, 0),
		admit: () => ({ account: 'account', device: name })
	};
	peer.channel = new SecureChannel(transport, policy);
	return peer;
}

describe('fuzz: peer session frames', () => {
	afterEach(() => vi.restoreAllMocks());

	it('no frame breaks the channel: good peers stay authenticated and keep talking, bad frames are counted', async () => {
		const seed = fuzzSeed(0x5e55_7001);
		const random = seededRandom(seed);
		seedPlatformRandomness(seededRandom(seed ^ 0x5eed));
		const network = new MemoryNetwork();
		const psk = random.bytes(32);
		/** Application messages the good peers took from the insider. */
		let fromOthers = 0;
		const a = goodPeer(network, 'A', psk);
		const b = goodPeer(network, 'B', psk);
		a.partner = b.transport.id;
		b.partner = a.transport.id;
		for (const [self, other] of [
			[a, b],
			[b, a]
		] as const) {
			self.channel.on('message', ({ peer, data }) => {
				if (peer === other.transport.id) self.received.push(new TextDecoder().decode(data));
				else fromOthers++;
			});
		}
		a.transport.connect();
		b.transport.connect();
		const authenticated = () =>
			a.channel.authenticatedPeers.some((peer) => peer.peer === b.transport.id) && b.channel.authenticatedPeers.some((peer) => peer.peer === a.transport.id);
		for (let i = 0; i < 50 && !authenticated(); i++) await settle();
		expect(authenticated()).toBe(true);
		let sent = 0;
		const talk = () => {
			a.channel.send(b.transport.id, text.encode(`a${sent}`));
			b.channel.send(a.transport.id, text.encode(`b${sent}`));
			sent++;
		};
		for (let i = 0; i < 5; i++) talk();
		await settle();
		const captured = [...a.captured, ...b.captured];
		expect(captured.some((frame) => frame[0] === HANDSHAKE) && captured.some((frame) => frame[0] === DATA)).toBe(true);
		const rejectedBefore = [a.channel.rejectedFrames, b.channel.rejectedFrames];
		const before = heapHeld();

		// 1. A stranger without the psk.
		const stranger = network.transport(ROOM);
		let strangerRefusals = 0;
		for (const victim of [a, b]) {
			victim.channel.on('refused', ({ peer }) => {
				if (peer === stranger.id) strangerRefusals++;
			});
		}
		let strangerRepliesSeen = 0;
		stranger.on('message', () => strangerRepliesSeen++);
		stranger.connect();
		let reconnects = 0;
		const strangerReport = fuzz({
			suite: 'SecureChannel (stranger)',
			seed,
			inputs: mixed(random, 4_000, [
				[4, (r) => mutate(r, r.pick(captured), captured)],
				[3, (r) => randomBytesInput(r, 1100, [HANDSHAKE, DATA, 0, 3, 255])],
				[1, (r) => r.pick(captured)],
				// A well-formed first message under a psk of its own: the victim answers, and reads on.
				[1, (r) => {
					const handshake = new NoiseHandshake({ protocol: NOISE_XXPSK3, initiator: true, staticKeys: generateAgreementKeyPair(), psk: r.bytes(32), prologue: prologue() });
					return concatBytes(Uint8Array.of(HANDSHAKE), handshake.writeMessage());
				}]
			]),
			allowed: [],
			run: (frame) => {
				const refusals = strangerRefusals;
				const victim = frame.length % 2 === 0 ? a : b;
				victim.transport.receive(stranger.id, frame);
				if (strangerRefusals > refusals) {
					// A refused peer's frames are only counted: a new channel meets a fresh state.
					stranger.close();
					stranger.connect();
					reconnects++;
				}
				if (random.chance(0.01)) talk();
			}
		});
		await settle();
		logReport('SecureChannel (stranger)', strangerReport, `${reconnects} fresh handshake states, ${strangerRepliesSeen} handshake replies to it`);

		// 2. Someone on the path between A and B.
		const onPathReport = fuzz({
			suite: 'SecureChannel (on the path)',
			seed,
			inputs: mixed(random, 4_000, [
				[5, (r) => ({ toA: r.chance(0.5), frame: mutate(r, r.pick(captured), captured) })],
				[2, (r) => ({ toA: r.chance(0.5), frame: randomBytesInput(r, 300, [HANDSHAKE, DATA]) })],
				[1, (r) => ({ toA: r.chance(0.5), frame: r.pick(captured) })]
			]),
			allowed: [],
			show: ({ frame }) => frame,
			run: ({ toA, frame }) => {
				if (toA) a.transport.receive(b.transport.id, frame);
				else b.transport.receive(a.transport.id, frame);
				if (random.chance(0.01)) talk();
			}
		});
		await settle();
		logReport('SecureChannel (on the path)', onPathReport);

		// 3. A peer with the psk, past the handshake.
		const insider = network.transport(ROOM);
		const sessions = new Map<string, { send: Uint8Array; counter: bigint }>();
		const handshakes = new Map<string, NoiseHandshake>();
		const insiderKeys = generateAgreementKeyPair();
		insider.on('message', ({ peer, data }) => {
			const handshake = handshakes.get(peer);
			if (!handshake || handshake.complete || data[0] !== HANDSHAKE) return;
			handshake.readMessage(data.subarray(1));
			insider.send(peer, concatBytes(Uint8Array.of(HANDSHAKE), handshake.writeMessage()));
			sessions.set(peer, { send: handshake.transportKeys().sendKey, counter: 0n });
		});
		insider.on('peer-connected', (peer) => {
			const handshake = new NoiseHandshake({ protocol: NOISE_XXPSK3, initiator: true, staticKeys: insiderKeys, psk, prologue: prologue() });
			handshakes.set(peer, handshake);
			insider.send(peer, concatBytes(Uint8Array.of(HANDSHAKE), handshake.writeMessage()));
		});
		insider.connect();
		for (let i = 0; i < 50 && sessions.size < 2; i++) await settle();
		expect(sessions.size).toBe(2);
		/** A DATA frame as the writer makes it: [kind][body], padded, sealed at `counter`. */
		const dataFrame = (session: { send: Uint8Array }, counter: bigint, kind: number, body: Uint8Array) => writeDataFrame(session.send, counter, kind, body);
		/** A DATA frame sealing `content` as it is, for padding the writer would never make. */
		const sealedAsIs = (session: { send: Uint8Array }, counter: bigint, content: Uint8Array) => {
			const header = new Uint8Array(9);
			header[0] = DATA;
			new DataView(header.buffer).setBigUint64(1, counter);
			return concatBytes(header, encryptAt(session.send, counter, Uint8Array.of(DATA), content));
		};
		const victims = [a, b];
		// Introduce the insider first, so that what follows is read as an admitted peer's.
		for (const victim of victims) {
			const session = sessions.get(victim.transport.id)!;
			victim.transport.receive(insider.id, dataFrame(session, session.counter++, 1, Uint8Array.of(1, 0, 0)));
		}
		/** Mostly the next counter; sometimes a replayed, stale or skipped one (then carrying on past it). */
		const counterFor = (r: Random, session: { counter: bigint }): bigint => {
			const roll = r.below(20);
			if (roll === 0) return 0n;
			if (roll === 1) return session.counter - BigInt(r.between(1, 5000));
			if (roll === 2) {
				session.counter += BigInt(r.between(1, 10_000));
				return session.counter++;
			}
			return session.counter++;
		};
		const insiderReport = fuzz({
			suite: 'SecureChannel (insider)',
			seed,
			inputs: mixed(random, 3_000, [
				[5, (r) => {
					const victim = r.pick(victims);
					const session = sessions.get(victim.transport.id)!;
					const counter = counterFor(r, session);
					if (counter < 0n) return { victim, frame: concatBytes(Uint8Array.of(DATA), r.bytes(40)) };
					const kind = r.pick([0, 1, 2, 2, 2, 3, 255]);
					const body = randomBytesInput(r, 400);
					if (r.chance(0.8)) return { victim, frame: dataFrame(session, counter, kind, body) };
					const content = r.chance(0.7) ? mutate(r, pad(concatBytes(Uint8Array.of(kind), body))) : randomBytesInput(r, 300);
					return { victim, frame: sealedAsIs(session, counter, content) };
				}],
				// Counters at the top of the range, with seals that do not open (an opened one would end the
				// insider's own session: every later counter would be stale).
				[1, (r) => {
					const header = new Uint8Array(9);
					header[0] = DATA;
					new DataView(header.buffer).setBigUint64(1, r.pick([2n ** 64n - 1n, 2n ** 64n - 2n, 2n ** 63n]));
					return { victim: r.pick(victims), frame: concatBytes(header, r.bytes(r.between(0, 60))) };
				}],
				[2, (r) => {
					const victim = r.pick(victims);
					const session = sessions.get(victim.transport.id)!;
					const frame = dataFrame(session, session.counter++, 2, r.bytes(r.below(50)));
					return { victim, frame: mutate(r, frame) };
				}],
				[1, (r) => ({ victim: r.pick(victims), frame: r.chance(0.5) ? mutate(r, r.pick(captured), captured) : randomBytesInput(r, 200, [HANDSHAKE, DATA]) })]
			]),
			allowed: [],
			show: ({ frame }) => frame,
			run: ({ victim, frame }) => {
				victim.transport.receive(insider.id, frame);
				if (random.chance(0.01)) talk();
			}
		});
		logReport('SecureChannel (insider)', insiderReport, `${fromOthers} application messages taken from it`);
		for (let i = 0; i < 5; i++) await settle();
		const held = heapHeld() - before;

		expect(strangerReport.inputs + onPathReport.inputs + insiderReport.inputs).toBeGreaterThanOrEqual(10_000);
		expect(fromOthers).toBeGreaterThan(100);
		expect(a.channel.rejectedFrames).toBeGreaterThan(rejectedBefore[0]! + 1000);
		expect(b.channel.rejectedFrames).toBeGreaterThan(rejectedBefore[1]! + 1000);
		expect(authenticated()).toBe(true);
		// Everything A and B said to each other during the fuzz arrived, once each, in order.
		expect(a.received).toEqual(Array.from({ length: sent }, (_, i) => `b${i}`));
		expect(b.received).toEqual(Array.from({ length: sent }, (_, i) => `a${i}`));
		a.channel.send(b.transport.id, text.encode('after the fuzz'));
		b.channel.send(a.transport.id, text.encode('after the fuzz too'));
		await settle();
		expect(b.received.at(-1)).toBe('after the fuzz');
		expect(a.received.at(-1)).toBe('after the fuzz too');
		console.log(
			`fuzz SecureChannel: ${a.channel.rejectedFrames + b.channel.rejectedFrames - rejectedBefore[0]! - rejectedBefore[1]!} frames rejected, ` +
				`${sent} messages between A and B during the fuzz, ${(held / MiB).toFixed(1)} MiB held`
		);
		expect(held).toBeLessThan(16 * MiB);
		for (const peer of [a, b]) peer.channel.close();
	});
});
