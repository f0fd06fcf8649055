/**
 * Reassembler.push against random chunks, real chunks in and out of order, mutated chunks and
 * floods, on one reassembler whose state carries from chunk to chunk. It may only return undefined
 * or a message, or throw FramingError; every message it returns must be exactly the payloads
 * pushed since the last message or refusal; what it holds stays bounded.
 */
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../src/lib/crypto';
import { FramingError, MAX_CHUNK_BYTES, MAX_MESSAGE_BYTES, MAX_MESSAGE_CHUNKS, Reassembler, splitMessage } from '../../src/lib/transport/framing';
import { fuzz, fuzzSeed, heapHeld, logReport, MiB, mutate, randomBytesInput, sameBytes, seededRandom, type Random } from './fuzz';

const MORE = 0;
const LAST = 1;

function realMessage(random: Random): Uint8Array[] {
	const size = random.pick([0, 1, 2, random.below(100), random.below(3 * MAX_CHUNK_BYTES), MAX_CHUNK_BYTES - 1, MAX_CHUNK_BYTES]);
	return splitMessage(random.bytes(size));
}

/** Chunk by chunk: whole real messages, pieces of them, random and mutated chunks, floods. */
function* chunks(random: Random, count: number): Generator<Uint8Array> {
	const corpus = [...realMessage(random), ...realMessage(random)];
	let made = 0;
	let floods = 0;
	while (made < count) {
		const roll = random.below(100);
		let batch: Uint8Array[];
		if (roll < 25) batch = realMessage(random);
		else if (roll < 35) batch = realMessage(random).slice(random.below(2));
		else if (roll < 55) batch = [randomBytesInput(random, MAX_CHUNK_BYTES + 2, [MORE, LAST, 2, 3])];
		else if (roll < 80) batch = [mutate(random, random.pick(corpus), corpus)];
		else if (roll < 90) batch = Array.from({ length: random.between(1, 50) }, () => new Uint8Array([random.pick([MORE, LAST])]));
		else if (roll < 97) batch = [new Uint8Array(random.pick([MAX_CHUNK_BYTES, MAX_CHUNK_BYTES + 1, 2])).fill(random.pick([MORE, LAST]))];
		else if (floods < 2) {
			// Small continuation chunks past the chunk cap.
			floods++;
			batch = Array.from({ length: MAX_MESSAGE_CHUNKS + random.between(0, 2) }, () => new Uint8Array([MORE, 1]));
		} else batch = [new Uint8Array(0)];
		for (const chunk of batch) {
			corpus[random.below(corpus.length)] = chunk.length <= 64 ? chunk : corpus[random.below(corpus.length)]!;
			made++;
			yield chunk;
		}
	}
}

describe('fuzz: data-channel framing', () => {
	it('Reassembler.push returns a message or nothing, or throws FramingError, and holds at most one message', () => {
		const seed = fuzzSeed(0xf4a3_1001);
		const random = seededRandom(seed);
		const reassembler = new Reassembler();
		let pending: Uint8Array[] = [];
		let messages = 0;
		const before = heapHeld();
		const report = fuzz({
			suite: 'framing',
			seed,
			inputs: chunks(random, 30_000),
			allowed: [FramingError],
			run: (chunk) => {
				let message: Uint8Array | undefined;
				try {
					message = reassembler.push(chunk);
				} catch (error) {
					pending = [];
					throw error;
				}
				if (!message) {
					pending.push(chunk.slice(1));
					return undefined;
				}
				const expected = concatBytes(...pending, chunk.subarray(1));
				pending = [];
				messages++;
				return { message, expected };
			},
			check: (value) => {
				if (value === undefined) return;
				const { message, expected } = value as { message: Uint8Array; expected: Uint8Array };
				if (message.length > MAX_MESSAGE_BYTES) throw new Error(`a message of ${message.length} bytes`);
				if (!sameBytes(message, expected)) throw new Error('the message is not the payloads pushed since the last one');
			}
		});
		const held = heapHeld() - before;
		logReport('Reassembler.push', report, `${messages} messages, ${(held / MiB).toFixed(1)} MiB held`);
		expect(report.inputs).toBeGreaterThanOrEqual(10_000);
		expect(report.refused).toBeGreaterThan(0);
		expect(messages).toBeGreaterThan(0);
		expect(held).toBeLessThan(8 * MiB);
		// After a refusal, whatever came before, the next message goes through whole.
		expect(() => reassembler.push(new Uint8Array([9]))).toThrow(FramingError);
		expect(reassembler.push(new Uint8Array([LAST, 1, 2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
	});
});
