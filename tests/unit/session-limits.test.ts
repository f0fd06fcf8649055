/**
 * The peer session frames' limits from both sides (src/lib/protocol/session.ts): a handshake message
 * of every size up to MAX_HANDSHAKE_BYTES, a DATA frame at every counter up to MAX_COUNTER, of each
 * kind and with bodies at the edges of the padding buckets, is written and read back whole; one past
 * each limit is refused by the writer (SessionFrameError) and, written by a writer that ignores it,
 * by the reader (SessionFrameError). Then what a hostile peer sends: nothing, unknown frame types,
 * every prefix of a DATA frame, bytes after it, and seals of contents the writer never pads so.
 */
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../src/lib/crypto';
import { encryptAt } from '../../src/lib/crypto/noise';
import { bucketFor, pad } from '../../src/lib/protocol/padding';
import {
	FRAME_DATA,
	FRAME_HANDSHAKE,
	KIND_APPLICATION,
	KIND_INTRODUCTION,
	MAX_COUNTER,
	MAX_HANDSHAKE_BYTES,
	openDataFrame,
	readSessionFrame,
	SessionFrameError,
	writeDataFrame,
	writeHandshakeFrame
} from '../../src/lib/protocol/session';

const KEY = new Uint8Array(32).map((_, i) => i * 7 + 1);
const OTHER_KEY = new Uint8Array(32).fill(0x5a);
const COUNTER_BYTES = 8;
const TAG_BYTES = 16;

/**
 * A DATA frame as a writer that checks nothing writes it: any 64-bit counter in the header, and
 * `content` sealed as it is (no kind or padding added) at `sealedAt`, the header's counter unless told.
 */
function forgeData(counter: bigint, content: Uint8Array, sealedAt = counter): Uint8Array {
	const header = new Uint8Array(1 + COUNTER_BYTES);
	header[0] = FRAME_DATA;
	new DataView(header.buffer).setBigUint64(1, counter);
	return concatBytes(header, encryptAt(KEY, sealedAt, Uint8Array.of(FRAME_DATA), content));
}

/** Reads `data` as a DATA frame and opens it under KEY. */
function readData(data: Uint8Array): { counter: bigint; kind: number; body: Uint8Array } {
	const frame = readSessionFrame(data);
	if (frame.type !== FRAME_DATA) throw new Error(`a frame of type ${frame.type}`);
	return { counter: frame.counter, ...openDataFrame(KEY, frame) };
}

const body = (length: number) => new Uint8Array(length).map((_, i) => (i * 31 + 7) % 256);

describe('handshake frames at and just past their limit', () => {
	for (const length of [0, 1, 32, 96, MAX_HANDSHAKE_BYTES]) {
		it(`a handshake message of ${length} bytes is read back whole`, () => {
			const message = body(length);
			const frame = writeHandshakeFrame(message);
			expect(frame).toEqual(concatBytes(Uint8Array.of(FRAME_HANDSHAKE), message));
			expect(readSessionFrame(frame)).toEqual({ type: FRAME_HANDSHAKE, message });
		});
	}

	it(`a handshake message past ${MAX_HANDSHAKE_BYTES} bytes is refused by the writer, and sent anyway, by the reader`, () => {
		for (const length of [MAX_HANDSHAKE_BYTES + 1, 65_535]) {
			expect(() => writeHandshakeFrame(body(length))).toThrow(SessionFrameError);
			expect(() => readSessionFrame(concatBytes(Uint8Array.of(FRAME_HANDSHAKE), body(length)))).toThrow(SessionFrameError);
		}
	});
});

describe('DATA frames at and just past their limits', () => {
	const counters: [string, bigint, number[]][] = [
		['the first counter, 0', 0n, [0, 0, 0, 0, 0, 0, 0, 0]],
		['a counter with every byte different, big-endian on the wire', 0x0102030405060708n, [1, 2, 3, 4, 5, 6, 7, 8]],
		['2^53, past what a JavaScript number holds exactly', 2n ** 53n + 1n, [0, 0x20, 0, 0, 0, 0, 0, 1]],
		['2^63, the top bit set', 2n ** 63n, [0x80, 0, 0, 0, 0, 0, 0, 0]],
		['the last counter, 2^64 − 2', MAX_COUNTER, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]]
	];
	for (const [name, counter, wire] of counters) {
		it(`${name}: is written as it is and the frame opens at it`, () => {
			const frame = writeDataFrame(KEY, counter, KIND_APPLICATION, body(5));
			expect([...frame.subarray(1, 1 + COUNTER_BYTES)]).toEqual(wire);
			expect(readData(frame)).toEqual({ counter, kind: KIND_APPLICATION, body: body(5) });
		});
	}

	it('a counter of 2^64 − 1 (reserved by Noise) is refused by the writer, and sent anyway, by the reader', () => {
		expect(MAX_COUNTER).toBe(2n ** 64n - 2n);
		expect(() => writeDataFrame(KEY, MAX_COUNTER + 1n, KIND_APPLICATION, body(5))).toThrow(SessionFrameError);
		// Sealed at a counter that opens, so that the header's counter is all the reader can refuse.
		const forged = forgeData(MAX_COUNTER + 1n, pad(concatBytes(Uint8Array.of(KIND_APPLICATION), body(5))), 7n);
		expect(() => readSessionFrame(forged)).toThrow(SessionFrameError);
		expect(readData(forgeData(7n, pad(concatBytes(Uint8Array.of(KIND_APPLICATION), body(5)))))).toEqual({ counter: 7n, kind: KIND_APPLICATION, body: body(5) });
	});

	it('a counter that 64 bits cannot hold is refused by the writer, not wrapped onto another counter', () => {
		for (const counter of [-1n, 2n ** 64n, 2n ** 64n + 2n, 2n ** 70n]) {
			expect(() => writeDataFrame(KEY, counter, KIND_APPLICATION, body(5)), String(counter)).toThrow(SessionFrameError);
		}
	});

	it('the two kinds are read back; any other byte is written but refused by the reader; a kind that is not one byte is refused by the writer', () => {
		for (const kind of [KIND_INTRODUCTION, KIND_APPLICATION]) expect(readData(writeDataFrame(KEY, 1n, kind, body(3)))).toEqual({ counter: 1n, kind, body: body(3) });
		for (const kind of [0, 3, 0x7f, 0xff]) {
			expect(() => readData(writeDataFrame(KEY, 1n, kind, body(3))), String(kind)).toThrow(new SessionFrameError(`unknown data kind ${kind}`));
		}
		// 0x102 would be sealed as 0x02, an application message.
		for (const kind of [0x100 + KIND_APPLICATION, 0x100, -1, -0xfe, 1.5, NaN, Infinity]) {
			expect(() => writeDataFrame(KEY, 1n, kind, body(3)), String(kind)).toThrow(SessionFrameError);
		}
	});

	// Padded form: [length of kind + body: varuint][kind][body][zeros up to the bucket].
	const bodies: [string, number][] = [
		['an empty body', 0],
		['the longest body whose length fits a 1-byte varuint', 126],
		['the shortest body whose length takes a 2-byte varuint', 127],
		['a body that fills the 256-byte bucket to the last byte', 253],
		['one byte more: the 1,024-byte bucket', 254],
		['a body that fills the 1,024-byte bucket to the last byte', 1021],
		['one byte more: the first Padmé size past 1,024', 1022],
		['the longest body whose length fits a 2-byte varuint', 16_382],
		['the shortest body whose length takes a 3-byte varuint', 16_383]
	];
	for (const [name, length] of bodies) {
		it(`${name} (${length} bytes) is read back whole, in a frame of its bucket's size`, () => {
			const frame = writeDataFrame(KEY, 3n, KIND_APPLICATION, body(length));
			const contentLength = 1 + length;
			const padded = (contentLength < 0x80 ? 1 : contentLength < 0x4000 ? 2 : 3) + contentLength;
			expect(frame.length).toBe(1 + COUNTER_BYTES + bucketFor(padded) + TAG_BYTES);
			expect(readData(frame)).toEqual({ counter: 3n, kind: KIND_APPLICATION, body: body(length) });
		});
	}
	it('the bucket edges above are edges: 256 and 1,024 are filled exactly, and one byte more moves up', () => {
		const sizes = [253, 254, 1021, 1022].map((length) => writeDataFrame(KEY, 3n, KIND_APPLICATION, body(length)).length - 1 - COUNTER_BYTES - TAG_BYTES);
		expect(sizes).toEqual([256, 1024, 1024, 1088]);
	});
});

describe('what a hostile peer sends', () => {
	const valid = writeDataFrame(KEY, 42n, KIND_APPLICATION, body(10));

	it('nothing, or a frame type no one defined, is refused', () => {
		expect(() => readSessionFrame(new Uint8Array())).toThrow(SessionFrameError);
		for (const type of [0, 3, 0x7f, 0x80, 0xff]) {
			expect(() => readSessionFrame(Uint8Array.of(type, ...valid.subarray(1))), String(type)).toThrow(SessionFrameError);
		}
	});

	it('every prefix of a DATA frame is refused: shorter than a counter and a tag by the reader, longer when it is opened', () => {
		expect(readData(valid)).toEqual({ counter: 42n, kind: KIND_APPLICATION, body: body(10) });
		for (let length = 1; length < valid.length; length++) {
			const prefix = valid.subarray(0, length);
			if (length < 1 + COUNTER_BYTES + TAG_BYTES) expect(() => readSessionFrame(prefix), `${length} bytes`).toThrow(SessionFrameError);
			else expect(() => readData(prefix), `${length} bytes`).toThrow();
		}
	});

	it('a DATA frame with bytes after its seal, or under another key, does not open', () => {
		for (const extra of [Uint8Array.of(0), Uint8Array.of(0xff), body(16), valid]) expect(() => readData(concatBytes(valid, extra))).toThrow();
		const frame = readSessionFrame(valid);
		if (frame.type !== FRAME_DATA) throw new Error('not data');
		expect(() => openDataFrame(OTHER_KEY, frame)).toThrow();
	});

	it('a frame in the middle of a larger buffer is read from its own bytes only', () => {
		const buffer = new Uint8Array(valid.length + 10).fill(0xee);
		buffer.set(valid, 3);
		expect(readData(buffer.subarray(3, 3 + valid.length))).toEqual({ counter: 42n, kind: KIND_APPLICATION, body: body(10) });
		expect(() => readData(buffer.subarray(3, 4 + valid.length))).toThrow();
	});

	it('the smallest DATA frame the reader splits, a seal of nothing, is refused when opened', () => {
		const smallest = forgeData(5n, new Uint8Array());
		expect(smallest.length).toBe(1 + COUNTER_BYTES + TAG_BYTES);
		expect(readSessionFrame(smallest)).toMatchObject({ type: FRAME_DATA, counter: 5n });
		expect(() => readData(smallest)).toThrow(SessionFrameError);
	});

	const contents: [string, Uint8Array][] = [
		['no kind: a length of 0 and zeros', pad(new Uint8Array())],
		['a length past the end of the seal', Uint8Array.of(5, KIND_APPLICATION)],
		['a length of 2^53 − 1', Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, KIND_APPLICATION)],
		['a length whose varuint never ends', new Uint8Array(20).fill(0xff)],
		['a length whose varuint overflows 2^53 − 1', Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, KIND_APPLICATION)],
		['padding that is not zeros', (() => {
			const padded = pad(Uint8Array.of(KIND_APPLICATION, 1, 2, 3));
			padded[padded.length - 1] = 1;
			return padded;
		})()]
	];
	for (const [name, content] of contents) {
		it(`a well-sealed frame with ${name} is refused when opened`, () => {
			expect(() => readData(forgeData(9n, content))).toThrow(SessionFrameError);
		});
	}
	it('the forger above seals what the writer seals, so those refusals are the contents alone', () => {
		expect(forgeData(9n, pad(Uint8Array.of(KIND_APPLICATION, 1, 2, 3)))).toEqual(writeDataFrame(KEY, 9n, KIND_APPLICATION, Uint8Array.of(1, 2, 3)));
	});
});
