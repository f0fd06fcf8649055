/**
 * The sync protocol's limits from both sides (src/lib/sync/protocol.ts): for each limit of a TOPICS
 * announcement and a SYNC header, the largest and the strangest legal value is written and read back
 * whole; one past it is refused by the writer (SyncProtocolError) and, written by hand as a writer
 * that ignores the limit would write it, by the reader (SyncProtocolError). Then what a hostile peer
 * sends: nothing, every prefix of a message, trailing bytes, varuints that overflow or claim lengths
 * past the end, unknown types, and client ids or clocks past 2^53 − 1.
 */
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { describe, expect, it } from 'vitest';
import { DELETIONS_DIGEST_BYTES, documentState } from '../../src/lib/storage/state';
import {
	MAX_STATE_VECTOR_BYTES,
	MAX_TOPIC_LENGTH,
	MAX_TOPICS,
	MAX_WEIGHT,
	MESSAGE_SYNC,
	MESSAGE_TOPICS,
	readSyncMessage,
	SyncProtocolError,
	writeSync,
	writeTopics,
	type TopicToAnnounce
} from '../../src/lib/sync/protocol';

/** A varuint of any size, as a writer that ignores every limit writes it. */
function varUint(value: bigint | number): number[] {
	let rest = BigInt(value);
	const out: number[] = [];
	while (rest > 0x7fn) {
		out.push(Number(rest & 0x7fn) | 0x80);
		rest >>= 7n;
	}
	return [...out, Number(rest)];
}

const bytes = (...parts: (number | number[] | Uint8Array)[]) => Uint8Array.from(parts.flatMap((part) => (typeof part === 'number' ? [part] : [...part])));
const utf8 = (text: string) => new TextEncoder().encode(text);

/** A state vector, [count]([client][clock])*, with numbers of any size. */
function stateVector(pairs: [bigint | number, bigint | number][]): Uint8Array {
	return bytes(varUint(pairs.length), ...pairs.flatMap(([client, clock]) => [varUint(client), varUint(clock)]));
}

interface ForgedTopic {
	/** A string is written as UTF-8; bytes as they are. */
	topic: string | Uint8Array;
	weight: bigint | number;
	stateVector?: Uint8Array;
	deletions?: Uint8Array;
}

/** A TOPICS message as a writer that checks nothing writes it; `count` may lie. */
function forgeTopics(topics: ForgedTopic[], count: bigint | number = topics.length): Uint8Array {
	const encoder = encoding.createEncoder();
	const write = (...parts: (number[] | Uint8Array)[]) => parts.forEach((part) => encoding.writeUint8Array(encoder, Uint8Array.from(part)));
	write(varUint(MESSAGE_TOPICS), varUint(count));
	for (const { topic, weight, stateVector: vector = new Uint8Array(), deletions = new Uint8Array() } of topics) {
		const name = typeof topic === 'string' ? utf8(topic) : topic;
		write(varUint(name.length), name, varUint(weight), varUint(vector.length), vector, varUint(deletions.length), deletions);
	}
	return encoding.toUint8Array(encoder);
}

/** A SYNC header and body as a writer that checks nothing writes them. */
function forgeSync(topic: string | Uint8Array, body: Uint8Array = new Uint8Array()): Uint8Array {
	const name = typeof topic === 'string' ? utf8(topic) : topic;
	return bytes(varUint(MESSAGE_SYNC), varUint(name.length), name, body);
}

/** What the reader makes of `data`: the message, or the SyncProtocolError it throws (anything else fails the test). */
function read(data: Uint8Array): ReturnType<typeof readSyncMessage> | SyncProtocolError {
	try {
		return readSyncMessage(data);
	} catch (error) {
		if (error instanceof SyncProtocolError) return error;
		throw error;
	}
}

const DIGEST = new Uint8Array(DELETIONS_DIGEST_BYTES).map((_, i) => 0xf0 + i);
/** Text as strange as a topic gets: other scripts, astral characters (two UTF-16 units each), a NUL, a BOM, 3-byte UTF-8. */
const STRANGE = '\uFEFFchat/Ωµ/👩‍👩‍👧/عربى/\u0000/€€€/';
const LONGEST_TOPIC = STRANGE.padEnd(MAX_TOPIC_LENGTH, '€');
/** A state vector of exactly MAX_STATE_VECTOR_BYTES: the largest uint32 client ids, each at clock 2^53 − 1. */
const LARGEST_VECTOR_PAIRS: [number, number][] = [[0, 0], ...Array.from({ length: 1260 }, (_, i): [number, number] => [2 ** 32 - 1 - i, Number.MAX_SAFE_INTEGER])];
const LARGEST_VECTOR = stateVector(LARGEST_VECTOR_PAIRS);

/**
 * One row per limit of an announced topic: the largest legal topic, one past the limit (which the
 * writer refuses), and the same past value as a writer that ignores the limit sends it.
 */
const TOPIC_LIMITS: { limit: string; largest: TopicToAnnounce; past: TopicToAnnounce; forged: ForgedTopic }[] = [
	{
		limit: `a topic of ${MAX_TOPIC_LENGTH} UTF-16 units, astral and 3-byte characters among them`,
		largest: { topic: LONGEST_TOPIC, weight: 1 },
		past: { topic: `${LONGEST_TOPIC}x`, weight: 1 },
		forged: { topic: `${LONGEST_TOPIC}x`, weight: 1 }
	},
	{
		limit: 'a topic of one character',
		largest: { topic: '/', weight: 0 },
		past: { topic: '', weight: 0 },
		forged: { topic: '', weight: 0 }
	},
	{
		limit: 'a topic of whole characters (a lone surrogate would arrive as U+FFFD, another topic)',
		largest: { topic: '😀'.repeat(MAX_TOPIC_LENGTH / 2), weight: 0 },
		past: { topic: 'chat/\uD83D', weight: 0 },
		// A surrogate written as UTF-8 anyway (CESU-8), and a byte UTF-8 never has.
		forged: { topic: bytes(...utf8('chat/'), 0xed, 0xa0, 0xbd), weight: 0 }
	},
	{
		limit: `a state vector of exactly ${MAX_STATE_VECTOR_BYTES} bytes`,
		largest: { topic: 'chat/a', weight: MAX_WEIGHT, state: { stateVector: LARGEST_VECTOR, deletions: DIGEST } },
		past: { topic: 'chat/a', weight: 1, state: { stateVector: stateVector([[0, 128], ...LARGEST_VECTOR_PAIRS.slice(1)]), deletions: DIGEST } },
		forged: { topic: 'chat/a', weight: 1, stateVector: stateVector([[0, 128], ...LARGEST_VECTOR_PAIRS.slice(1)]), deletions: DIGEST }
	},
	{
		limit: 'the smallest state: a state vector of no clients (an empty document)',
		largest: { topic: 'chat/a', weight: 0, state: { stateVector: Y.encodeStateVector(new Y.Doc()), deletions: DIGEST } },
		past: { topic: 'chat/a', weight: 0, state: { stateVector: new Uint8Array(), deletions: DIGEST } },
		// Empty but for the digest: not "ask me", and no state vector either.
		forged: { topic: 'chat/a', weight: 0, stateVector: new Uint8Array(), deletions: DIGEST }
	},
	{
		limit: `a deletions digest of exactly ${DELETIONS_DIGEST_BYTES} bytes (one fewer)`,
		largest: { topic: 'chat/a', weight: 0, state: { stateVector: stateVector([[1, 1]]), deletions: DIGEST } },
		past: { topic: 'chat/a', weight: 0, state: { stateVector: stateVector([[1, 1]]), deletions: DIGEST.subarray(1) } },
		forged: { topic: 'chat/a', weight: 0, stateVector: stateVector([[1, 1]]), deletions: DIGEST.subarray(1) }
	},
	{
		limit: `a deletions digest of exactly ${DELETIONS_DIGEST_BYTES} bytes (one more)`,
		largest: { topic: 'chat/a', weight: 0, state: { stateVector: stateVector([[1, 1]]), deletions: DIGEST } },
		past: { topic: 'chat/a', weight: 0, state: { stateVector: stateVector([[1, 1]]), deletions: bytes(DIGEST, 0) } },
		forged: { topic: 'chat/a', weight: 0, stateVector: stateVector([[1, 1]]), deletions: bytes(DIGEST, 0) }
	},
	{
		limit: 'a clock of 2^53 − 1 (2^53 past it)',
		largest: { topic: 'chat/a', weight: 0, state: { stateVector: stateVector([[7, Number.MAX_SAFE_INTEGER]]), deletions: DIGEST } },
		past: { topic: 'chat/a', weight: 0, state: { stateVector: stateVector([[7, 2n ** 53n]]), deletions: DIGEST } },
		forged: { topic: 'chat/a', weight: 0, stateVector: stateVector([[7, 2n ** 53n]]), deletions: DIGEST }
	},
	{
		limit: 'a client id of 2^53 − 1 (the most a varuint can carry, 2^56 − 1, past it)',
		largest: { topic: 'chat/a', weight: 0, state: { stateVector: stateVector([[Number.MAX_SAFE_INTEGER, 1]]), deletions: DIGEST } },
		past: { topic: 'chat/a', weight: 0, state: { stateVector: stateVector([[2n ** 56n - 1n, 1]]), deletions: DIGEST } },
		forged: { topic: 'chat/a', weight: 0, stateVector: stateVector([[2n ** 56n - 1n, 1]]), deletions: DIGEST }
	},
	{
		limit: 'a state vector that holds as many clients as it counts, and nothing after them',
		largest: { topic: 'chat/a', weight: 0, state: { stateVector: stateVector([[1, 1], [2, 2]]), deletions: DIGEST } },
		past: { topic: 'chat/a', weight: 0, state: { stateVector: bytes(stateVector([[1, 1], [2, 2]]), 0), deletions: DIGEST } },
		forged: { topic: 'chat/a', weight: 0, stateVector: bytes(2, 1, 1), deletions: DIGEST }
	}
];

describe('a TOPICS announcement at and just past its limits', () => {
	for (const { limit, largest, past, forged } of TOPIC_LIMITS) {
		it(`${limit}: the largest is read back whole; one past is refused by the writer, and sent anyway, by the reader`, () => {
			const written = writeTopics([largest, { topic: 'after', weight: 3 }]);
			const message = read(written);
			expect(message).toEqual({
				type: MESSAGE_TOPICS,
				topics: [
					{
						topic: largest.topic,
						weight: largest.weight,
						state: largest.state && { vector: new Map(decodePairs(largest.state.stateVector)), deletions: largest.state.deletions }
					},
					{ topic: 'after', weight: 3, state: undefined }
				]
			});
			// The forger writes what the writer writes, so what the reader refuses below is the limit alone.
			const asForged = { topic: largest.topic, weight: largest.weight, stateVector: largest.state?.stateVector, deletions: largest.state?.deletions };
			expect(forgeTopics([asForged, { topic: 'after', weight: 3 }])).toEqual(written);

			expect(() => writeTopics([past])).toThrow(SyncProtocolError);
			expect(read(forgeTopics([forged, { topic: 'after', weight: 3 }]))).toBeInstanceOf(SyncProtocolError);
		});
	}

	it(`the table's largest state vector is exactly ${MAX_STATE_VECTOR_BYTES} bytes, and the one past it one byte more`, () => {
		const past = TOPIC_LIMITS.find(({ limit }) => limit.startsWith('a state vector of exactly'))!;
		expect(past.largest.state!.stateVector).toBe(LARGEST_VECTOR);
		expect(LARGEST_VECTOR.length).toBe(MAX_STATE_VECTOR_BYTES);
		expect(past.past.state!.stateVector.length).toBe(MAX_STATE_VECTOR_BYTES + 1);
		expect(past.forged.stateVector!.length).toBe(MAX_STATE_VECTOR_BYTES + 1);
	});

	it(`${MAX_TOPICS} topics are read back, in order; ${MAX_TOPICS + 1} are refused by the writer, and counted so by a forger, by the reader`, () => {
		const topics = Array.from({ length: MAX_TOPICS }, (_, i) => ({ topic: `t${i}`, weight: i % 128 }));
		const message = read(writeTopics(topics));
		if (message instanceof SyncProtocolError || message.type !== MESSAGE_TOPICS) throw new Error('not read');
		expect(message.topics.length).toBe(MAX_TOPICS);
		expect(message.topics[MAX_TOPICS - 1]).toEqual({ topic: `t${MAX_TOPICS - 1}`, weight: (MAX_TOPICS - 1) % 128, state: undefined });

		const oneMore = [...topics, { topic: 'one more', weight: 0 }];
		expect(() => writeTopics(oneMore)).toThrow(SyncProtocolError);
		expect(read(forgeTopics(oneMore))).toEqual(new SyncProtocolError('too many topics'));
		// A count the bytes cannot hold is refused before anything is read for it.
		expect(read(forgeTopics([], 2n ** 53n - 1n))).toEqual(new SyncProtocolError('too many topics'));
		expect(read(forgeTopics([], 0))).toEqual({ type: MESSAGE_TOPICS, topics: [] });
	});

	it(`a weight reads back up to ${MAX_WEIGHT}; the writer clamps what no count makes, and the reader refuses one past`, () => {
		const weights = (written: number[]) => {
			const message = read(writeTopics(written.map((weight, i) => ({ topic: `t${i}`, weight }))));
			if (message instanceof SyncProtocolError || message.type !== MESSAGE_TOPICS) throw new Error('not read');
			return message.topics.map(({ weight }) => weight);
		};
		expect(weights([0, 1, 127, 128, MAX_WEIGHT])).toEqual([0, 1, 127, 128, MAX_WEIGHT]);
		expect(weights([MAX_WEIGHT + 1, Number.MAX_SAFE_INTEGER, Infinity, -1, -Infinity, 2.9, NaN])).toEqual([MAX_WEIGHT, MAX_WEIGHT, MAX_WEIGHT, 0, 0, 2, 0]);

		for (const weight of [MAX_WEIGHT + 1, 2n ** 53n - 1n, 2n ** 53n, 2n ** 56n - 1n]) {
			expect(read(forgeTopics([{ topic: 'chat/a', weight }])), String(weight)).toBeInstanceOf(SyncProtocolError);
		}
	});
});

describe('a SYNC header at and just past its limits', () => {
	const body = bytes(0, 1, 2, 0xff, 0);
	const topics = { 'the longest, strange topic': LONGEST_TOPIC, 'a topic of astral characters only': '😀'.repeat(MAX_TOPIC_LENGTH / 2), 'a topic of one character': '/' };
	for (const [name, topic] of Object.entries(topics)) {
		it(`${name}: the topic and every byte of the body are read back`, () => {
			const written = writeSync(topic, (encoder) => encoding.writeUint8Array(encoder, body));
			expect(written).toEqual(forgeSync(topic, body));
			expect(read(written)).toEqual({ type: MESSAGE_SYNC, topic, body });
			// An empty body is the layer above's to refuse.
			expect(read(writeSync(topic, () => undefined))).toEqual({ type: MESSAGE_SYNC, topic, body: new Uint8Array() });
		});
	}

	it('a topic that is empty, one unit too long, or not whole characters is refused by the writer, and sent anyway, by the reader', () => {
		for (const topic of ['', `${LONGEST_TOPIC}x`, 'chat/\uDE00x', '\uD83D']) {
			expect(() => writeSync(topic, () => undefined), JSON.stringify(topic)).toThrow(SyncProtocolError);
		}
		for (const topic of ['', `${LONGEST_TOPIC}x`, bytes(0xed, 0xb8, 0x80), bytes(0xff), bytes(0xc3)]) {
			expect(read(forgeSync(topic, body)), String(topic)).toBeInstanceOf(SyncProtocolError);
		}
	});
});

describe('what a hostile peer sends', () => {
	const doc = new Y.Doc();
	doc.getText('text').insert(0, 'hello');
	doc.getText('text').delete(0, 1);
	const announcement = writeTopics([
		{ topic: 'chat/a', weight: 300, state: documentState(doc) },
		{ topic: 'chat/b', weight: 0 }
	]);
	const sync = forgeSync('chat/a', bytes(0, 1, 2));

	it('nothing, or a type alone, is refused', () => {
		for (const data of [bytes(), bytes(MESSAGE_TOPICS), bytes(MESSAGE_SYNC)]) expect(read(data), String(data)).toBeInstanceOf(SyncProtocolError);
	});

	it('every prefix of an announcement is refused, and the whole is read', () => {
		expect(read(announcement)).toMatchObject({ type: MESSAGE_TOPICS, topics: [{ topic: 'chat/a', weight: 300 }, { topic: 'chat/b', weight: 0 }] });
		for (let length = 0; length < announcement.length; length++) {
			expect(read(announcement.subarray(0, length)), `${length} of ${announcement.length} bytes`).toBeInstanceOf(SyncProtocolError);
		}
	});

	it('every prefix of a SYNC header is refused; past the header, what follows is the body', () => {
		const header = sync.length - 3;
		for (let length = 0; length < header; length++) expect(read(sync.subarray(0, length)), `${length} bytes`).toBeInstanceOf(SyncProtocolError);
		expect(read(sync.subarray(0, header))).toEqual({ type: MESSAGE_SYNC, topic: 'chat/a', body: bytes() });
		expect(read(sync)).toEqual({ type: MESSAGE_SYNC, topic: 'chat/a', body: bytes(0, 1, 2) });
	});

	it('an announcement with a byte, or a second announcement, after it is refused', () => {
		for (const data of [bytes(announcement, 0), bytes(announcement, announcement), bytes(writeTopics([]), 0)]) {
			expect(read(data)).toEqual(new SyncProtocolError('trailing bytes'));
		}
	});

	it('varuints that never end or overflow 2^53 − 1 are refused, wherever they are', () => {
		const endless = Array.from({ length: 8 }, () => 0xff);
		const overflow = [...endless, 0xff, 0x01];
		const cases = [
			bytes(0x80),
			bytes(endless),
			bytes(overflow),
			bytes(MESSAGE_TOPICS, endless),
			bytes(MESSAGE_TOPICS, overflow),
			bytes(MESSAGE_SYNC, overflow, 0x61),
			bytes(MESSAGE_TOPICS, 1, 1, 0x61, overflow, 0, 0),
			bytes(MESSAGE_TOPICS, 1, 1, 0x61, 0, overflow),
			bytes(MESSAGE_TOPICS, 1, 1, 0x61, 0, 3, 1, 0xff, 0xff, DELETIONS_DIGEST_BYTES, DIGEST)
		];
		for (const data of cases) expect(read(data), Buffer.from(data).toString('hex')).toBeInstanceOf(SyncProtocolError);
	});

	it('lengths past the end of the message are refused: of a topic, a state vector, a digest', () => {
		const cases = [
			forgeSync('chat/a').subarray(0, 2),
			bytes(MESSAGE_SYNC, varUint(2n ** 53n - 1n), 0x61),
			bytes(MESSAGE_TOPICS, 1, 7, ...utf8('chat/a')),
			bytes(MESSAGE_TOPICS, 1, 1, 0x61, 0, varUint(MAX_STATE_VECTOR_BYTES), 0, 0),
			bytes(MESSAGE_TOPICS, 1, 1, 0x61, 0, 3, 1, 1, 1, varUint(DELETIONS_DIGEST_BYTES), DIGEST.subarray(1)),
			bytes(MESSAGE_TOPICS, 2, 1, 0x61, 0, 0, 0)
		];
		for (const data of cases) expect(read(data), Buffer.from(data).toString('hex')).toBeInstanceOf(SyncProtocolError);
	});

	it('unknown types are refused, however they are encoded', () => {
		for (const type of [bytes(2), bytes(3), bytes(0x7f), bytes(0x80, 0x01), bytes(varUint(2n ** 32n)), bytes(varUint(2n ** 53n - 1n)), bytes(0x82, 0x00)]) {
			expect(read(bytes(type, 0))).toBeInstanceOf(SyncProtocolError);
		}
	});
});

/** The pairs of a well-formed state vector, decoded independently of the reader. */
function decodePairs(vector: Uint8Array): [number, number][] {
	const numbers: number[] = [];
	let value = 0n;
	let shift = 0n;
	for (const byte of vector) {
		value |= BigInt(byte & 0x7f) << shift;
		shift += 7n;
		if (byte < 0x80) {
			numbers.push(Number(value));
			value = 0n;
			shift = 0n;
		}
	}
	return Array.from({ length: numbers[0]! }, (_, i) => [numbers[1 + 2 * i]!, numbers[2 + 2 * i]!]);
}
