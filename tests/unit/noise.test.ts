import { x25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { generateAgreementKeyPair, randomBytes, toHex, type KeyPair } from '../../src/lib/crypto';
import {
	decryptAt,
	encryptAt,
	MAX_NOISE_MESSAGE_BYTES,
	NOISE_XX,
	NOISE_XXPSK3,
	NoiseError,
	NoiseHandshake,
	type NoiseOptions
} from '../../src/lib/crypto/noise';

function fromHex(hex: string): Uint8Array {
	return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function keyPairFromSecret(secretHex: string): KeyPair {
	const secretKey = fromHex(secretHex);
	return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

interface Vector {
	protocol: NoiseOptions['protocol'];
	prologue: string;
	psk?: string;
	initiatorStatic: string;
	initiatorEphemeral: string;
	responderStatic: string;
	responderEphemeral: string;
	handshakeHash: string;
	/** The first three are the handshake; the rest are transport messages, alternating sides. */
	messages: { payload: string; ciphertext: string }[];
}

// From the cacophony project (github.com/haskell-cryptography/cacophony), file
// vectors/cacophony.txt at commit 8ee9d41e34a1a596cfa3ab12aa4069ff87dc1247. Init and resp
// prologue (and psk) are identical in both entries, so each is given once.
const VECTORS: Vector[] = [
	{
		protocol: NOISE_XX,
		prologue: '4a6f686e2047616c74',
		initiatorStatic: 'e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1',
		initiatorEphemeral: '893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a',
		responderStatic: '4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893',
		responderEphemeral: 'bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b',
		handshakeHash: 'c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e',
		messages: [
			{
				payload: '4c756477696720766f6e204d69736573',
				ciphertext:
					'ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c756477696720766f6e204d69736573'
			},
			{
				payload: '4d757272617920526f746862617264',
				ciphertext:
					'95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cbad1f276e038c48378ffce2b65285e08d6b68aaa3629a5a8639392490e5b9bd5269c2f1e4f488ed8831161f19b7815528f8982ffe09be9b5c412f8a0db50f8814c7194e83f23dbd8d162c9326ad'
			},
			{
				payload: '462e20412e20486179656b',
				ciphertext:
					'c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a80ae475b9df0f169ae80a89be0865b57f58c9fea0d4ec82a286427402f113e4b6ae769a1d95941d49b25030'
			},
			{ payload: '4361726c204d656e676572', ciphertext: '96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df' },
			{
				payload: '4a65616e2d426170746973746520536179',
				ciphertext: '3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5'
			},
			{
				payload: '457567656e2042f6686d20766f6e2042617765726b',
				ciphertext: 'eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502ae3f'
			}
		]
	},
	{
		protocol: NOISE_XXPSK3,
		prologue: '4a6f686e2047616c74',
		psk: '54686973206973206d7920417573747269616e20706572737065637469766521',
		initiatorStatic: 'e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1',
		initiatorEphemeral: '893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a',
		responderStatic: '4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893',
		responderEphemeral: 'bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b',
		handshakeHash: 'a477edf6a131bbdb54707f6ea30eab6cd935d9b560f0e5fd1f053a95a99669fb',
		messages: [
			{
				payload: '4c756477696720766f6e204d69736573',
				ciphertext:
					'ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944c9f5ff0e8079630cb7e270c20bbf480821b77a384a645c71a2fd9b3db1c16a5f'
			},
			{
				payload: '4d757272617920526f746862617264',
				ciphertext:
					'95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843b123def17f71e6ae8e57e0e1dec5949c5f7415c6f33517398747d821a06dc23ad430aa1fd7381d46195c378a819fd574425462cbb2d4ca339e738a0b7001dc91423fbf55a99af0c6f1df21012ceb2f'
			},
			{
				payload: '462e20412e20486179656b',
				ciphertext:
					'52187316111b118d4c060364f7b975dc0809b2590779aff2d63113c564f11744493384db7bf32d5ae6686df6ab06d508d2e07caaf1d6afc010b978735fc78900e71ae1d314130d042e729a'
			},
			{ payload: '4361726c204d656e676572', ciphertext: 'eaedc672d4c21e0e2955758756fb98f194c4e90d5deb5b6cf30b27' },
			{
				payload: '4a65616e2d426170746973746520536179',
				ciphertext: '522d543c5fe799d09a3d9da7ff54d0dc03c8af1dc7751d2ff708339d2290943e98'
			},
			{
				payload: '457567656e2042f6686d20766f6e2042617765726b',
				ciphertext: '7d4e2c3873eef6a213b04e72f9df60a91666072d3544c5d96c34a09e2329b5030bee796741'
			}
		]
	}
];

function vectorSides(vector: Vector): { initiator: NoiseHandshake; responder: NoiseHandshake } {
	const shared = {
		protocol: vector.protocol,
		prologue: fromHex(vector.prologue),
		...(vector.psk ? { psk: fromHex(vector.psk) } : {})
	};
	return {
		initiator: new NoiseHandshake({
			...shared,
			initiator: true,
			staticKeys: keyPairFromSecret(vector.initiatorStatic),
			ephemeralKeys: keyPairFromSecret(vector.initiatorEphemeral)
		}),
		responder: new NoiseHandshake({
			...shared,
			initiator: false,
			staticKeys: keyPairFromSecret(vector.responderStatic),
			ephemeralKeys: keyPairFromSecret(vector.responderEphemeral)
		})
	};
}

describe('published test vectors (cacophony)', () => {
	for (const vector of VECTORS) {
		it(`replays ${vector.protocol} byte for byte`, () => {
			const { initiator, responder } = vectorSides(vector);
			vector.messages.slice(0, 3).forEach((message, index) => {
				const [writer, reader] = index % 2 === 0 ? [initiator, responder] : [responder, initiator];
				expect(toHex(writer.writeMessage(fromHex(message.payload)))).toBe(message.ciphertext);
				expect(toHex(reader.readMessage(fromHex(message.ciphertext)))).toBe(message.payload);
			});
			expect(initiator.complete && responder.complete).toBe(true);
			expect(toHex(initiator.handshakeHash)).toBe(vector.handshakeHash);
			expect(toHex(responder.handshakeHash)).toBe(vector.handshakeHash);

			const initiatorKeys = initiator.transportKeys();
			const responderKeys = responder.transportKeys();
			const counters = { initiator: 0, responder: 0 };
			vector.messages.slice(3).forEach((message, index) => {
				// The handshake ended with the initiator's message, so the responder sends first.
				const side = index % 2 === 0 ? 'responder' : 'initiator';
				const [sendKey, receiveKey] =
					side === 'initiator'
						? [initiatorKeys.sendKey, responderKeys.receiveKey]
						: [responderKeys.sendKey, initiatorKeys.receiveKey];
				const counter = counters[side]++;
				const empty = new Uint8Array(0);
				expect(toHex(encryptAt(sendKey, counter, empty, fromHex(message.payload)))).toBe(message.ciphertext);
				expect(toHex(decryptAt(receiveKey, counter, empty, fromHex(message.ciphertext)))).toBe(message.payload);
			});
		});
	}
});

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

/** Two XXpsk3 sides with fresh keys and one shared psk; `overrides` changes one side's options. */
function freshSides(overrides: { initiator?: Partial<NoiseOptions>; responder?: Partial<NoiseOptions> } = {}) {
	const psk = randomBytes(32);
	const side = (initiator: boolean, override: Partial<NoiseOptions> | undefined) =>
		new NoiseHandshake({
			protocol: NOISE_XXPSK3,
			initiator,
			staticKeys: generateAgreementKeyPair(),
			psk,
			...override
		});
	return { initiator: side(true, overrides.initiator), responder: side(false, overrides.responder) };
}

describe('a handshake between two fresh sides', () => {
	for (const protocol of [NOISE_XXPSK3, NOISE_XX] as const) {
		it(`${protocol}: authenticates both static keys and agrees on crossed transport keys`, () => {
			const shared = {
				protocol,
				prologue: text('samen/v1'),
				...(protocol === NOISE_XXPSK3 ? { psk: randomBytes(32) } : {})
			};
			const initiatorStatic = generateAgreementKeyPair();
			const responderStatic = generateAgreementKeyPair();
			const initiator = new NoiseHandshake({ ...shared, initiator: true, staticKeys: initiatorStatic });
			const responder = new NoiseHandshake({ ...shared, initiator: false, staticKeys: responderStatic });
			expect(responder.readMessage(initiator.writeMessage(text('hallo')))).toEqual(text('hallo'));
			expect(initiator.readMessage(responder.writeMessage(text('dag')))).toEqual(text('dag'));
			expect(initiator.complete).toBe(false);
			expect(responder.readMessage(initiator.writeMessage())).toEqual(new Uint8Array(0));
			expect(initiator.complete && responder.complete).toBe(true);

			expect(initiator.remoteStaticKey).toEqual(responderStatic.publicKey);
			expect(responder.remoteStaticKey).toEqual(initiatorStatic.publicKey);
			expect(initiator.handshakeHash).toEqual(responder.handshakeHash);
			const initiatorKeys = initiator.transportKeys();
			const responderKeys = responder.transportKeys();
			expect(initiatorKeys.sendKey).toEqual(responderKeys.receiveKey);
			expect(initiatorKeys.receiveKey).toEqual(responderKeys.sendKey);
			expect(initiatorKeys.sendKey).not.toEqual(initiatorKeys.receiveKey);
		});
	}

	it('fails when the prologues differ', () => {
		const { initiator, responder } = freshSides({ responder: { prologue: text('other') } });
		expect(() => responder.readMessage(initiator.writeMessage())).toThrow(NoiseError);
	});
});

/** Deterministic sides, so that one recorded message can be replayed against many fresh readers. */
function fixedSides() {
	const keys = {
		psk: randomBytes(32),
		initiatorStatic: generateAgreementKeyPair(),
		initiatorEphemeral: generateAgreementKeyPair(),
		responderStatic: generateAgreementKeyPair(),
		responderEphemeral: generateAgreementKeyPair()
	};
	const make = () =>
		freshSides({
			initiator: { psk: keys.psk, staticKeys: keys.initiatorStatic, ephemeralKeys: keys.initiatorEphemeral },
			responder: { psk: keys.psk, staticKeys: keys.responderStatic, ephemeralKeys: keys.responderEphemeral }
		});
	const { initiator, responder } = make();
	const first = initiator.writeMessage(text('een'));
	responder.readMessage(first);
	const second = responder.writeMessage(text('twee'));
	initiator.readMessage(second);
	const third = initiator.writeMessage(text('drie'));
	return { make, first, second, third };
}

function flipBit(message: Uint8Array, bit: number): Uint8Array {
	const copy = message.slice();
	copy[bit >> 3]! ^= 1 << (bit & 7);
	return copy;
}

function expectDead(handshake: NoiseHandshake): void {
	expect(handshake.complete).toBe(false);
	expect(handshake.remoteStaticKey).toBeUndefined();
	expect(() => handshake.writeMessage()).toThrow(NoiseError);
	expect(() => handshake.readMessage(new Uint8Array(100))).toThrow(NoiseError);
	expect(() => handshake.transportKeys()).toThrow(NoiseError);
}

describe('attacks and misuse', () => {
	it('fails in the third message when one side has a different psk', () => {
		const { initiator, responder } = freshSides({ responder: { psk: randomBytes(32) } });
		responder.readMessage(initiator.writeMessage());
		initiator.readMessage(responder.writeMessage());
		expect(() => responder.readMessage(initiator.writeMessage())).toThrow(NoiseError);
		expectDead(responder);
	});

	it('rejects a message echoed back to its sender', () => {
		const first = freshSides();
		const echoedFirst = first.initiator.writeMessage(text('een'));
		expect(() => first.initiator.readMessage(echoedFirst)).toThrow(NoiseError);

		const second = freshSides();
		second.responder.readMessage(second.initiator.writeMessage());
		const echoedSecond = second.responder.writeMessage(text('twee'));
		expect(() => second.responder.readMessage(echoedSecond)).toThrow(NoiseError);
	});

	it('rejects every flipped bit in the second and third messages', () => {
		const { make, first, second, third } = fixedSides();
		for (let bit = 0; bit < second.length * 8; bit++) {
			const { initiator } = make();
			initiator.writeMessage(text('een'));
			expect(() => initiator.readMessage(flipBit(second, bit)), `bit ${bit}`).toThrow(NoiseError);
		}
		for (let bit = 0; bit < third.length * 8; bit++) {
			const { responder } = make();
			responder.readMessage(first);
			responder.writeMessage(text('twee'));
			expect(() => responder.readMessage(flipBit(third, bit)), `bit ${bit}`).toThrow(NoiseError);
		}
	});

	it('throws for messages out of turn and after completion', () => {
		expect(() => freshSides().responder.writeMessage()).toThrow(NoiseError);
		expect(() => freshSides().initiator.readMessage(new Uint8Array(64))).toThrow(NoiseError);
		const twice = freshSides().initiator;
		twice.writeMessage();
		expect(() => twice.writeMessage()).toThrow(NoiseError);
		expectDead(twice);
		const { initiator, responder } = freshSides();
		const first = initiator.writeMessage();
		responder.readMessage(first);
		initiator.readMessage(responder.writeMessage());
		responder.readMessage(initiator.writeMessage());
		expect(() => initiator.writeMessage()).toThrow(NoiseError);
		expect(() => responder.readMessage(first)).toThrow(NoiseError);
		expect(() => freshSides().initiator.transportKeys()).toThrow(NoiseError);
	});

	it('rejects every truncation of each handshake message', () => {
		const { make, first, second, third } = fixedSides();
		for (let length = 0; length < first.length; length++) {
			expect(() => make().responder.readMessage(first.subarray(0, length))).toThrow(NoiseError);
		}
		for (let length = 0; length < second.length; length++) {
			const { initiator } = make();
			initiator.writeMessage(text('een'));
			expect(() => initiator.readMessage(second.subarray(0, length))).toThrow(NoiseError);
		}
		for (let length = 0; length < third.length; length++) {
			const { responder } = make();
			responder.readMessage(first);
			responder.writeMessage(text('twee'));
			expect(() => responder.readMessage(third.subarray(0, length))).toThrow(NoiseError);
		}
	});

	// u = 0, u = 1 and a point of order 8 (from the list in RFC 7748 implementations' tests).
	const lowOrderPoints = [
		'0000000000000000000000000000000000000000000000000000000000000000',
		'0100000000000000000000000000000000000000000000000000000000000000',
		'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'
	];
	for (const point of lowOrderPoints) {
		it(`rejects the low-order ephemeral key ${point.slice(0, 8)}…`, () => {
			const lowOrder = { publicKey: fromHex(point), secretKey: randomBytes(32) };
			const fromResponder = freshSides({ responder: { ephemeralKeys: lowOrder } });
			fromResponder.responder.readMessage(fromResponder.initiator.writeMessage());
			const second = fromResponder.responder.writeMessage();
			expect(() => fromResponder.initiator.readMessage(second)).toThrow(NoiseError);
			expectDead(fromResponder.initiator);

			// The first message has no DH, so the responder notices when it computes ee.
			const fromInitiator = freshSides({ initiator: { ephemeralKeys: lowOrder } });
			fromInitiator.responder.readMessage(fromInitiator.initiator.writeMessage());
			expect(() => fromInitiator.responder.writeMessage()).toThrow(NoiseError);
			expectDead(fromInitiator.responder);
		});
	}

	it('bounds message size both ways', () => {
		const { initiator, responder } = freshSides();
		expect(() => initiator.writeMessage(new Uint8Array(MAX_NOISE_MESSAGE_BYTES))).toThrow(NoiseError);
		expect(() => responder.readMessage(new Uint8Array(MAX_NOISE_MESSAGE_BYTES + 1))).toThrow(NoiseError);
		const largest = MAX_NOISE_MESSAGE_BYTES - 32 - 16;
		const fresh = freshSides();
		expect(fresh.responder.readMessage(fresh.initiator.writeMessage(new Uint8Array(largest))).length).toBe(largest);
	});

	it('refuses a missing psk for XXpsk3 and a psk for XX', () => {
		const staticKeys = generateAgreementKeyPair();
		expect(() => new NoiseHandshake({ protocol: NOISE_XXPSK3, initiator: true, staticKeys })).toThrow(NoiseError);
		expect(
			() => new NoiseHandshake({ protocol: NOISE_XXPSK3, initiator: true, staticKeys, psk: randomBytes(16) })
		).toThrow(NoiseError);
		expect(
			() => new NoiseHandshake({ protocol: NOISE_XX, initiator: true, staticKeys, psk: randomBytes(32) })
		).toThrow(NoiseError);
	});
});

describe('encryptAt and decryptAt', () => {
	const key = randomBytes(32);
	const associated = text('frame header');

	it('round-trips at any counter below the reserved 2^64-1', () => {
		for (const counter of [0, 1, 2 ** 53 - 1, 2n ** 64n - 2n]) {
			const sealed = encryptAt(key, counter, associated, text('bericht'));
			expect(decryptAt(key, counter, associated, sealed)).toEqual(text('bericht'));
		}
	});

	it('rejects a wrong counter, wrong associated data, a short input and a reserved or invalid counter', () => {
		const sealed = encryptAt(key, 5, associated, text('bericht'));
		expect(() => decryptAt(key, 6, associated, sealed)).toThrow(NoiseError);
		expect(() => decryptAt(key, 5, text('other'), sealed)).toThrow(NoiseError);
		expect(() => decryptAt(key, 5, associated, sealed.subarray(0, 15))).toThrow(NoiseError);
		expect(() => encryptAt(key, 2n ** 64n - 1n, associated, text('x'))).toThrow(NoiseError);
		expect(() => encryptAt(key, -1, associated, text('x'))).toThrow(NoiseError);
		expect(() => encryptAt(key, 1.5, associated, text('x'))).toThrow(NoiseError);
		expect(() => encryptAt(randomBytes(16), 0, associated, text('x'))).toThrow(NoiseError);
	});
});
