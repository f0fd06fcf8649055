/**
 * Contact requests and answers (src/lib/protocol/contacts.ts) against what anyone who holds an
 * invite could leave in its mailbox: the largest of each is read back whole, one past each limit is
 * refused by the writer and, written by one that ignores the limits, by the reader; and random and
 * mutated messages, signed so that the body parser sees them, give a value or ContactError, nothing
 * else.
 */
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import { randomBytes, sign } from '../../src/lib/crypto';
import { generateDeviceKeys } from '../../src/lib/identity/device-keys';
import {
	ANSWER_PURPOSE,
	ContactError,
	MAX_CONTACT_NAME_LENGTH,
	readContactAnswer,
	readContactRequest,
	REQUEST_PURPOSE,
	writeContactAnswer,
	writeContactRequest
} from '../../src/lib/protocol/contacts';
import { MAX_DEVICES, MAX_INTRODUCTION_BYTES } from '../../src/lib/protocol/trust';
import { fuzz, fuzzSeed, logReport, mixed, mutate, randomBytesInput, seededRandom } from './fuzz';

const device = generateDeviceKeys();
const signer = { id: device.id, signSecret: device.signing.secretKey };
/** Every device id names this device's key: the signature holds, so the body parser is reached. */
const anyKey = () => device.signing.publicKey;
const NAME = 'Ωµ\u200d👩‍👩‍👧 "q" \\\n'.padEnd(MAX_CONTACT_NAME_LENGTH, 'n');
const CHAT = 'c'.repeat(64);

/** A signed message as a writer that ignores every limit makes it. */
function signedAnyway(purpose: string, body: (encoder: encoding.Encoder) => void): Uint8Array {
	const inner = encoding.createEncoder();
	body(inner);
	const bytes = encoding.toUint8Array(inner);
	const outer = encoding.createEncoder();
	encoding.writeUint8(outer, 1);
	encoding.writeVarUint8Array(outer, bytes);
	encoding.writeVarString(outer, device.id);
	encoding.writeUint8Array(outer, sign(device.signing.secretKey, purpose, bytes));
	return encoding.toUint8Array(outer);
}

const largestRequest = { introduction: randomBytes(MAX_INTRODUCTION_BYTES), name: NAME, chatId: CHAT, sentAt: Number.MAX_SAFE_INTEGER };
const largestAnswer = {
	introduction: randomBytes(MAX_INTRODUCTION_BYTES),
	name: NAME,
	chatId: CHAT,
	requesterKey: randomBytes(32),
	boxes: Array.from({ length: MAX_DEVICES }, (_, i) => ({ deviceId: String(i).repeat(64), box: randomBytes(200) }))
};

function requestBody(fields: { introduction: Uint8Array; name: string; chatId: string; sentAt: number }) {
	return (e: encoding.Encoder) => {
		encoding.writeVarUint8Array(e, fields.introduction);
		encoding.writeVarString(e, fields.name);
		encoding.writeVarString(e, fields.chatId);
		encoding.writeVarUint(e, fields.sentAt);
	};
}

function answerBody(fields: typeof largestAnswer) {
	return (e: encoding.Encoder) => {
		encoding.writeVarUint8Array(e, fields.introduction);
		encoding.writeVarString(e, fields.name);
		encoding.writeVarString(e, fields.chatId);
		encoding.writeUint8Array(e, fields.requesterKey);
		encoding.writeVarUint(e, fields.boxes.length);
		for (const { deviceId, box } of fields.boxes) {
			encoding.writeVarString(e, deviceId);
			encoding.writeVarUint8Array(e, box);
		}
	};
}

const malformed = expect.objectContaining({ name: 'ContactError', code: 'malformed' });

describe('contact requests and answers at and just past their limits', () => {
	it('the largest request is read back whole; one past a limit is refused on both sides', () => {
		expect(readContactRequest(writeContactRequest(largestRequest, signer), anyKey)).toEqual({ ...largestRequest, deviceId: device.id });
		const past = [
			{ ...largestRequest, introduction: randomBytes(MAX_INTRODUCTION_BYTES + 1) },
			{ ...largestRequest, chatId: 'c'.repeat(65) },
			{ ...largestRequest, chatId: '' },
			{ ...largestRequest, chatId: 'not/a chat' }
		];
		for (const request of past) {
			expect(() => writeContactRequest(request, signer)).toThrow(malformed);
			expect(() => readContactRequest(signedAnyway(REQUEST_PURPOSE, requestBody(request)), anyKey)).toThrow(malformed);
		}
		// A writer shortens a long name; a reader refuses one that is not.
		expect(readContactRequest(writeContactRequest({ ...largestRequest, name: `${NAME}x` }, signer), anyKey).name).toBe(NAME);
		expect(() => readContactRequest(signedAnyway(REQUEST_PURPOSE, requestBody({ ...largestRequest, name: `${NAME}x` })), anyKey)).toThrow(malformed);
	});

	it('the largest answer is read back whole; one past a limit is refused on both sides', () => {
		expect(readContactAnswer(writeContactAnswer(largestAnswer, signer), anyKey)).toEqual({ ...largestAnswer, deviceId: device.id });
		const box = { deviceId: 'd', box: randomBytes(32) };
		const past = [
			{ ...largestAnswer, boxes: [...largestAnswer.boxes, box] },
			{ ...largestAnswer, boxes: [{ deviceId: 'd'.repeat(65), box: box.box }] },
			{ ...largestAnswer, boxes: [{ deviceId: 'd', box: randomBytes(201) }] },
			{ ...largestAnswer, chatId: 'c'.repeat(65) },
			{ ...largestAnswer, chatId: '' },
			{ ...largestAnswer, introduction: randomBytes(MAX_INTRODUCTION_BYTES + 1) }
		];
		for (const answer of past) {
			expect(() => writeContactAnswer(answer, signer)).toThrow(malformed);
			expect(() => readContactAnswer(signedAnyway(ANSWER_PURPOSE, answerBody(answer)), anyKey)).toThrow(malformed);
		}
	});

	it('a signature by another device, or none it can find, is forged', () => {
		const other = generateDeviceKeys();
		const bytes = writeContactRequest(largestRequest, signer);
		expect(() => readContactRequest(bytes, () => other.signing.publicKey)).toThrow(expect.objectContaining({ code: 'forged' }));
		expect(() => readContactRequest(bytes, () => undefined)).toThrow(expect.objectContaining({ code: 'forged' }));
		expect(() => readContactAnswer(bytes, anyKey)).toThrow(expect.objectContaining({ code: 'forged' }));
	});
});

describe('fuzz: contact requests and answers', () => {
	it('give a request or an answer, or throw ContactError, for random and mutated messages signed or not', () => {
		const random = seededRandom(fuzzSeed(0xc0_47ac7));
		const small = { ...largestRequest, introduction: randomBytes(40), name: 'Bram', chatId: 'abc' };
		const smallAnswer = { ...largestAnswer, introduction: randomBytes(40), boxes: largestAnswer.boxes.slice(0, 2) };
		const corpus = [writeContactRequest(small, signer), writeContactAnswer(smallAnswer, signer)];
		const bodies = [
			signedAnyway(REQUEST_PURPOSE, requestBody(small)),
			signedAnyway(ANSWER_PURPOSE, answerBody(smallAnswer))
		];
		const generators: [number, (r: typeof random) => Uint8Array][] = [
			[2, (r) => mutate(r, r.pick(corpus), corpus)],
			[1, (r) => randomBytesInput(r, 400, [1])],
			// A mutated body, signed again: the body parser sees it.
			[3, (r) => {
				const purpose = r.chance(0.5) ? REQUEST_PURPOSE : ANSWER_PURPOSE;
				const body = mutate(r, r.pick(bodies).subarray(2, 2 + 40));
				return signedAnyway(purpose, (e) => encoding.writeUint8Array(e, body));
			}]
		];
		for (const [name, read] of [['readContactRequest', readContactRequest], ['readContactAnswer', readContactAnswer]] as const) {
			const report = fuzz({ suite: name, seed: random.seed, inputs: mixed(random, 10_000, generators), run: (input) => read(input, anyKey), allowed: [ContactError] });
			expect(report.inputs).toBe(10_000);
			logReport(name, report);
		}
	});
});
