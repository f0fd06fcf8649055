import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { FramingError, MAX_CHUNK_BYTES, MAX_MESSAGE_BYTES, MAX_MESSAGE_CHUNKS, Reassembler, splitMessage } from '../../src/lib/transport/framing';

const MiB = 1024 * 1024;
const MORE = 0;
const LAST = 1;

/** The heap in use after a full collection, so that what a test measures is what is still held. */
function heapHeld(): number {
	setFlagsFromString('--expose-gc');
	(runInNewContext('gc') as () => void)();
	return process.memoryUsage().heapUsed;
}

function chunk(flag: number, payloadBytes: number, fill = 0): Uint8Array {
	const bytes = new Uint8Array(1 + payloadBytes).fill(fill);
	bytes[0] = flag;
	return bytes;
}

/** Pushes `chunks` and counts how many were refused; anything but a FramingError fails the test. */
function pushAll(reassembler: Reassembler, chunks: Iterable<Uint8Array>): { refused: number; firstRefused: number; messages: Uint8Array[] } {
	let refused = 0;
	let firstRefused = -1;
	let index = 0;
	const messages: Uint8Array[] = [];
	for (const next of chunks) {
		try {
			const message = reassembler.push(next);
			if (message) messages.push(message);
		} catch (error) {
			if (!(error instanceof FramingError)) throw error;
			if (refused++ === 0) firstRefused = index;
		}
		index++;
	}
	return { refused, firstRefused, messages };
}

function* repeat(value: Uint8Array, times: number): Generator<Uint8Array> {
	for (let i = 0; i < times; i++) yield value;
}

describe('framing', () => {
	it.each([0, 1, MAX_CHUNK_BYTES - 1, MAX_CHUNK_BYTES, 5 * MAX_CHUNK_BYTES + 17])('round-trips %i bytes in chunks of at most 16 KiB', (size) => {
		const message = Uint8Array.from({ length: size }, (_, i) => i % 256);
		const chunks = splitMessage(message);
		expect(chunks.every((chunk) => chunk.length <= MAX_CHUNK_BYTES)).toBe(true);
		const reassembler = new Reassembler();
		const results = chunks.map((chunk) => reassembler.push(chunk));
		expect(results.slice(0, -1).every((r) => r === undefined)).toBe(true);
		expect(results.at(-1)).toEqual(message);
	});

	it('rejects a malformed chunk and recovers for the next message', () => {
		const reassembler = new Reassembler();
		reassembler.push(splitMessage(new Uint8Array(MAX_CHUNK_BYTES * 2))[0]!);
		expect(() => reassembler.push(new Uint8Array([7, 1, 2]))).toThrow(FramingError);
		expect(() => reassembler.push(new Uint8Array(0))).toThrow(FramingError);
		expect(reassembler.push(splitMessage(new Uint8Array([4, 5]))[0]!)).toEqual(new Uint8Array([4, 5]));
	});

	it('refuses 1,000,000 empty continuation chunks one by one, holding nothing', () => {
		const reassembler = new Reassembler();
		const before = heapHeld();
		const { refused, firstRefused } = pushAll(reassembler, repeat(new Uint8Array([MORE]), 1_000_000));
		const held = heapHeld() - before;
		expect(firstRefused).toBe(0);
		expect(refused).toBe(1_000_000);
		expect(held).toBeLessThan(4 * MiB);
		expect(reassembler.push(new Uint8Array([LAST, 9]))).toEqual(new Uint8Array([9]));
	});

	it('counts every chunk: 1,000,000 one-byte continuation chunks hold at most one message of chunks', () => {
		const reassembler = new Reassembler();
		const before = heapHeld();
		const { refused, firstRefused } = pushAll(reassembler, repeat(new Uint8Array([MORE, 7]), 1_000_000));
		const held = heapHeld() - before;
		// The chunk after the cap is refused and drops the message; the flood then starts over.
		expect(firstRefused).toBe(MAX_MESSAGE_CHUNKS);
		expect(refused).toBe(Math.floor(1_000_000 / (MAX_MESSAGE_CHUNKS + 1)));
		expect(held).toBeLessThan(4 * MiB);
		expect(reassembler.push(new Uint8Array([LAST]))).toBeInstanceOf(Uint8Array);
	});

	it('reassembles the largest legal message, in exactly MAX_MESSAGE_CHUNKS chunks', () => {
		const message = new Uint8Array(MAX_MESSAGE_BYTES);
		message[0] = 1;
		message[MAX_MESSAGE_BYTES - 1] = 2;
		const chunks = splitMessage(message);
		expect(chunks).toHaveLength(MAX_MESSAGE_CHUNKS);
		const { refused, messages } = pushAll(new Reassembler(), chunks);
		expect(refused).toBe(0);
		expect(messages).toHaveLength(1);
		expect(messages[0]!.length).toBe(MAX_MESSAGE_BYTES);
		expect([messages[0]![0], messages[0]![MAX_MESSAGE_BYTES - 1]]).toEqual([1, 2]);
	});

	it('refuses one byte past the largest message, and recovers for the next message', () => {
		const full = chunk(MORE, MAX_CHUNK_BYTES - 1);
		const rest = MAX_MESSAGE_BYTES - (MAX_MESSAGE_CHUNKS - 1) * (MAX_CHUNK_BYTES - 1);
		const reassembler = new Reassembler();
		const { refused, firstRefused } = pushAll(reassembler, [...repeat(full, MAX_MESSAGE_CHUNKS - 1), chunk(LAST, rest + 1)]);
		expect([refused, firstRefused]).toEqual([1, MAX_MESSAGE_CHUNKS - 1]);
		expect(reassembler.push(chunk(LAST, 3, 5))).toEqual(new Uint8Array([5, 5, 5]));
	});

	it('refuses one chunk past the cap, however small the chunks, and recovers for the next message', () => {
		const reassembler = new Reassembler();
		const { refused, firstRefused } = pushAll(reassembler, [...repeat(chunk(MORE, 1), MAX_MESSAGE_CHUNKS), chunk(LAST, 1)]);
		expect([refused, firstRefused]).toEqual([1, MAX_MESSAGE_CHUNKS]);
		const small = new Uint8Array([1, 2, 3]);
		const { messages } = pushAll(reassembler, splitMessage(small));
		expect(messages).toEqual([small]);
	});

	it('takes a message of MAX_MESSAGE_CHUNKS small chunks', () => {
		const { refused, messages } = pushAll(new Reassembler(), [...repeat(chunk(MORE, 1, 8), MAX_MESSAGE_CHUNKS - 1), chunk(LAST, 1, 8)]);
		expect(refused).toBe(0);
		expect(messages[0]).toEqual(new Uint8Array(MAX_MESSAGE_CHUNKS).fill(8));
	});
});
