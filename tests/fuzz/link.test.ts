/**
 * The link handshake's readers (src/lib/protocol/link.ts) against what a stranger who scanned or
 * guessed nothing, or a man in the middle, could send: the payload decoder may only throw
 * LinkError, readTagged may only return undefined or the key a genuine tag proves, and the sealed
 * readers may only throw LinkError. Sealed messages are built both by mutating what the writers
 * produce (the seal then fails) and as [type][seal(key, body, ad = [type])] around random and
 * mutated bodies, so that the body parsers behind the seal see every kind of plaintext.
 */
import * as encoding from 'lib0/encoding';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { seal } from '../../src/lib/crypto';
import {
	decodeLinkPayload,
	encodeLinkPayload,
	LINK_BUNDLE,
	LINK_CONFIRM,
	LINK_DECLINE,
	LINK_DONE,
	LINK_FULL,
	LINK_OFFER,
	LINK_REFUSED,
	LINK_REQUEST,
	LinkError,
	linkUrl,
	readBundle,
	readDecline,
	readRequest,
	readSignal,
	readTagged,
	writeBundle,
	writeDecline,
	writeRequest,
	writeSignal,
	writeTagged
} from '../../src/lib/protocol/link';
import { MAX_DEVICE_LIST_BYTES, MAX_DEVICE_NAME_LENGTH, MAX_HEARTBEAT_BYTES } from '../../src/lib/protocol/trust';
import { fuzz, fuzzSeed, logReport, mixed, mutate, mutateString, randomBytesInput, randomString, sameBytes, seededRandom, seedPlatformRandomness, varUint, type Random } from './fuzz';

// Seal nonces drawn from a seeded source, so that a seed replays the very same messages.
beforeEach(() => seedPlatformRandomness(seededRandom(fuzzSeed(0x11c0_3000))));
afterEach(() => vi.restoreAllMocks());

const ALL_TYPES = [0, LINK_OFFER, LINK_REQUEST, LINK_BUNDLE, LINK_DECLINE, LINK_DONE, LINK_REFUSED, LINK_FULL, LINK_CONFIRM, 9, 255];

describe('fuzz: the link payload', () => {
	it('decodeLinkPayload returns a payload or throws LinkError', () => {
		const seed = fuzzSeed(0x11c0_3001);
		const random = seededRandom(seed);
		const payloads = Array.from({ length: 8 }, () =>
			encodeLinkPayload({ room: random.bytes(16), publicKey: random.bytes(32), secret: random.bytes(16), expiresAt: random.below(2 ** 32) * 1000 })
		);
		const texts = [...payloads, ...payloads.map((payload) => linkUrl('https://samen.example', payload)), ` ${payloads[0]}\n`];
		const inputs = mixed(random, 12_000, [
			[6, (r) => mutateString(r, r.pick(texts))],
			[2, (r) => randomString(r, 140)],
			[1, (r) => `samen2.${randomString(r, 120)}`],
			[1, (r) => r.pick(texts)]
		]);
		const report = fuzz({
			suite: 'decodeLinkPayload',
			seed,
			inputs,
			allowed: [LinkError],
			run: decodeLinkPayload,
			check: (value) => {
				const payload = value as ReturnType<typeof decodeLinkPayload>;
				expect([payload.room.length, payload.publicKey.length, payload.secret.length]).toEqual([16, 32, 16]);
				expect(Number.isSafeInteger(payload.expiresAt) && payload.expiresAt >= 0 && payload.expiresAt % 1000 === 0).toBe(true);
			}
		});
		logReport('decodeLinkPayload', report);
		expect(report.inputs).toBe(12_000);
		expect(report.accepted).toBeGreaterThan(500);
	});
});

describe('fuzz: link handshake messages', () => {
	it('readTagged returns undefined, or publicKeyP only for a tag made with the QR secret', () => {
		const seed = fuzzSeed(0x11c0_3002);
		const random = seededRandom(seed);
		const secret = random.bytes(16);
		const publicKeyN = random.bytes(32);
		const keysP = [random.bytes(32), random.bytes(32)];
		const tagged = [LINK_OFFER, LINK_FULL, LINK_REFUSED].flatMap((type) => keysP.map((keyP) => writeTagged(type as typeof LINK_OFFER, secret, keyP, publicKeyN)));
		const inputs = mixed(random, 12_000, [
			[6, (r) => ({ data: mutate(r, r.pick(tagged), tagged), type: r.pick([LINK_OFFER, LINK_FULL, LINK_REFUSED]) })],
			[2, (r) => ({ data: randomBytesInput(r, 100, ALL_TYPES), type: r.pick(ALL_TYPES) })],
			// Right shape, wrong or right type asked for: only the matching type's genuine tag passes.
			[2, (r) => ({ data: r.pick(tagged), type: r.pick(ALL_TYPES) })]
		]);
		let proven = 0;
		const report = fuzz({
			suite: 'readTagged',
			seed,
			inputs,
			allowed: [],
			show: (input) => input.data,
			run: ({ data, type }) => readTagged(data, type, secret, publicKeyN),
			check: (value, { data, type }) => {
				if (value === undefined) return;
				const keyP = value as Uint8Array;
				proven++;
				expect(keyP.length).toBe(32);
				expect(sameBytes(data, writeTagged(type as typeof LINK_OFFER, secret, keyP, publicKeyN))).toBe(true);
			}
		});
		// Undefined is how readTagged refuses: "accepted" counts calls that returned, `proven` the keys.
		logReport('readTagged', report, `${proven} returned a key`);
		expect(report.inputs).toBe(12_000);
		expect(proven).toBeGreaterThan(100);
	});

	const key = seededRandom(fuzzSeed(0x11c0_3003)).bytes(32);

	/** A plaintext body as each writer lays it out, to mutate. */
	function bodies(random: Random): Record<'request' | 'bundle' | 'decline' | 'signal', Uint8Array[]> {
		const request = (name: string, kind: number) => {
			const encoder = encoding.createEncoder();
			encoding.writeUint8Array(encoder, random.bytes(32));
			encoding.writeUint8Array(encoder, random.bytes(32));
			encoding.writeUint8(encoder, kind);
			encoding.writeVarString(encoder, name);
			return encoding.toUint8Array(encoder);
		};
		const bundle = (name: string, listBytes: number, heartbeatBytes: number) => {
			const encoder = encoding.createEncoder();
			encoding.writeVarString(encoder, name);
			encoding.writeVarUint8Array(encoder, random.bytes(listBytes));
			encoding.writeVarUint8Array(encoder, random.bytes(heartbeatBytes));
			return encoding.toUint8Array(encoder);
		};
		return {
			request: [request('Phone', 0), request('x'.repeat(MAX_DEVICE_NAME_LENGTH), 2), request(' é 😀 ', 1)],
			bundle: [bundle('Ada', 300, 60), bundle('', 0, 0), bundle('n'.repeat(MAX_DEVICE_NAME_LENGTH), MAX_DEVICE_LIST_BYTES, MAX_HEARTBEAT_BYTES)],
			decline: [Uint8Array.of(0), Uint8Array.of(1), Uint8Array.of(2)],
			signal: [new Uint8Array(0)]
		};
	}

	/** How many inputs were sealed under the key with the type the reader expects: the ones whose body it parses. */
	let bodiesParsed = 0;

	function sealedAs(type: number, body: Uint8Array, expected: number): Uint8Array {
		if (type === expected) bodiesParsed++;
		const typeByte = Uint8Array.of(type);
		const sealed = seal(key, body, typeByte);
		const out = new Uint8Array(1 + sealed.length);
		out[0] = type;
		out.set(sealed, 1);
		return out;
	}

	/** Random and mutated wire messages, and seals around random and mutated bodies (about half). */
	function sealedInputs(random: Random, count: number, type: number, real: Uint8Array[], plain: Uint8Array[]): Iterable<Uint8Array> {
		return mixed(random, count, [
			[3, (r) => mutate(r, r.pick(real), real)],
			[1, (r) => randomBytesInput(r, 200, ALL_TYPES)],
			[4, (r) => sealedAs(r.chance(0.95) ? type : r.pick(ALL_TYPES), mutate(r, r.pick(plain), plain), type)],
			[1, (r) => sealedAs(type, randomBytesInput(r, 120), type)],
			[1, (r) => sealedAs(type, Uint8Array.from([...r.bytes(r.below(70)), ...varUint(r.pick([0, 1, 64, 65, 2 ** 31, 2 ** 53 - 1])), ...r.bytes(r.below(8))]), type)]
		]);
	}

	it('readRequest returns a request or throws LinkError', () => {
		bodiesParsed = 0;
		const seed = fuzzSeed(0x11c0_3004);
		const random = seededRandom(seed);
		const plain = bodies(random).request;
		const real = [
			writeRequest(key, { signKey: random.bytes(32), agreeKey: random.bytes(32), kind: 'phone', name: 'Phone' }),
			writeRequest(key, { signKey: random.bytes(32), agreeKey: random.bytes(32), kind: 'computer', name: 'y'.repeat(80) })
		];
		const report = fuzz({
			suite: 'readRequest',
			seed,
			inputs: sealedInputs(random, 10_000, LINK_REQUEST, real, plain),
			allowed: [LinkError],
			run: (data) => readRequest(key, data),
			check: (value) => {
				const request = value as ReturnType<typeof readRequest>;
				expect([request.signKey.length, request.agreeKey.length]).toEqual([32, 32]);
				expect(['phone', 'tablet', 'computer']).toContain(request.kind);
				expect(request.name.length >= 1 && request.name.length <= MAX_DEVICE_NAME_LENGTH && request.name === request.name.trim()).toBe(true);
			}
		});
		logReport('readRequest', report, `${bodiesParsed} bodies behind a good seal`);
		expect(bodiesParsed).toBeGreaterThan(4000);
		expect(report.inputs).toBe(10_000);
		expect(report.accepted).toBeGreaterThan(100);
	});

	it('readBundle returns a bundle or throws LinkError', () => {
		bodiesParsed = 0;
		const seed = fuzzSeed(0x11c0_3005);
		const random = seededRandom(seed);
		const plain = bodies(random).bundle;
		const real = [writeBundle(key, { accountName: 'Ada', deviceList: random.bytes(500), heartbeat: random.bytes(100) })];
		const report = fuzz({
			suite: 'readBundle',
			seed,
			inputs: sealedInputs(random, 10_000, LINK_BUNDLE, real, plain),
			allowed: [LinkError],
			run: (data) => readBundle(key, data),
			check: (value) => {
				const bundle = value as ReturnType<typeof readBundle>;
				expect(bundle.accountName.length).toBeLessThanOrEqual(MAX_DEVICE_NAME_LENGTH);
				expect(bundle.deviceList.length).toBeLessThanOrEqual(MAX_DEVICE_LIST_BYTES);
				expect(bundle.heartbeat.length).toBeLessThanOrEqual(MAX_HEARTBEAT_BYTES);
			}
		});
		logReport('readBundle', report, `${bodiesParsed} bodies behind a good seal`);
		expect(bodiesParsed).toBeGreaterThan(4000);
		expect(report.inputs).toBe(10_000);
		expect(report.accepted).toBeGreaterThan(100);
	});

	it('readDecline returns a reason or throws LinkError', () => {
		bodiesParsed = 0;
		const seed = fuzzSeed(0x11c0_3006);
		const random = seededRandom(seed);
		const plain = bodies(random).decline;
		const real = [writeDecline(key, 'declined'), writeDecline(key, 'expired')];
		const report = fuzz({
			suite: 'readDecline',
			seed,
			inputs: sealedInputs(random, 10_000, LINK_DECLINE, real, plain),
			allowed: [LinkError],
			run: (data) => readDecline(key, data),
			check: (value) => expect(['declined', 'too-many-devices', 'expired']).toContain(value)
		});
		logReport('readDecline', report, `${bodiesParsed} bodies behind a good seal`);
		expect(bodiesParsed).toBeGreaterThan(4000);
		expect(report.inputs).toBe(10_000);
		expect(report.accepted).toBeGreaterThan(100);
	});

	it('readSignal returns or throws LinkError, for CONFIRM and DONE', () => {
		bodiesParsed = 0;
		const seed = fuzzSeed(0x11c0_3007);
		const random = seededRandom(seed);
		const plain = [...bodies(random).signal, Uint8Array.of(0)];
		const real = [writeSignal(LINK_CONFIRM, key), writeSignal(LINK_DONE, key)];
		const inputs = mixed(random, 10_000, [
			[1, (r) => ({ type: LINK_CONFIRM, data: r.pick([...sealedInputs(r, 1, LINK_CONFIRM, real, plain)]) })],
			[1, (r) => ({ type: LINK_DONE, data: r.pick([...sealedInputs(r, 1, LINK_DONE, real, plain)]) })]
		]);
		const report = fuzz({
			suite: 'readSignal',
			seed,
			inputs,
			allowed: [LinkError],
			show: (input) => input.data,
			run: ({ type, data }) => readSignal(type as typeof LINK_CONFIRM, key, data),
			check: (value) => expect(value).toBeUndefined()
		});
		logReport('readSignal', report, `${bodiesParsed} bodies behind a good seal`);
		expect(bodiesParsed).toBeGreaterThan(4000);
		expect(report.inputs).toBe(10_000);
		expect(report.accepted).toBeGreaterThan(100);
	});
});
