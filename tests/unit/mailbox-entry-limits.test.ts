/**
 * The mailbox entries' limits from both sides (src/lib/protocol/mailbox-entry.ts): the longest and
 * strangest topic, the largest introduction, content that just fits one entry and content cut into
 * the most parts a group may have are sealed, opened and joined back whole, every entry within the
 * item limit; one past each limit is refused by the writer (MailboxEntryError) and, sealed with the
 * right key and room by a writer that ignores the limit, by the reader. Then what the server, or
 * anyone who can deposit in the room, could leave instead: nothing, every cut of an entry, bytes
 * after it, unknown kinds, topics past the end or not UTF-8, part numbers that overflow.
 */
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import { OVERFLOWING_VARUINT, refused } from '../helpers/limits';
import { concatBytes, CryptoError, randomBytes, seal, SEAL_OVERHEAD } from '../../src/lib/crypto';
import {
	joinMailboxParts,
	MailboxEntryError,
	MAX_PARTS,
	openMailboxEntry,
	sealMailboxEntries,
	sealMailboxEntry,
	type MailboxContent,
	type MailboxPart
} from '../../src/lib/protocol/mailbox-entry';
import { pad } from '../../src/lib/protocol/padding';
import { MAX_INTRODUCTION_BYTES } from '../../src/lib/protocol/trust';
import { MAX_TOPIC_LENGTH } from '../../src/lib/sync/protocol';
import { MAX_MAILBOX_ITEM_BYTES } from '../../src/lib/transport/signaling-protocol';

const KEY = randomBytes(32);
const ROOM = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
/** A part's header (kind, group, index and count as varuints of up to 4 bytes) and the longest padding prefix: what the writer keeps free in a part entry. */
const PART_ROOM = 1 + 16 + 4 + 4 + 4;
/** Text as strange as a topic gets: other scripts, joiners, quotes, a NUL and line separators. */
const STRANGE = 'Ωµ\u200d👩‍👩‍👧 "quoted" \\ back\nslash\u2028\u2029\u0000 عربى';

function varUint(value: number): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, value);
	return encoding.toUint8Array(encoder);
}

function varString(value: string): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarString(encoder, value);
	return encoding.toUint8Array(encoder);
}

/** Sealed as a writer that checks nothing would seal it: any plain text, padded, under the right key and room. */
const forge = (plain: Uint8Array) => seal(KEY, pad(plain), new TextEncoder().encode(ROOM));
const updatePlain = (topic: string, update: Uint8Array) => concatBytes(Uint8Array.of(1), varString(topic), update);
const partPlain = (group: Uint8Array, index: Uint8Array, count: Uint8Array, bytes: Uint8Array = Uint8Array.of(7)) => concatBytes(Uint8Array.of(3), group, index, count, bytes);
const open = (sealed: Uint8Array) => openMailboxEntry(KEY, ROOM, sealed);


describe('mailbox entries at and just past their limits', () => {
	const TOPICS: [string, string][] = [
		['the longest topic', 't'.repeat(MAX_TOPIC_LENGTH)],
		['the longest topic in characters of three bytes', '€'.repeat(MAX_TOPIC_LENGTH)],
		['the longest strange topic', `${STRANGE}x`.padEnd(MAX_TOPIC_LENGTH, '👩')],
		['a topic of one character', 'a']
	];
	for (const [what, topic] of TOPICS) {
		it(`${what} is sealed, opened back whole and written byte for byte as the test forger writes it`, () => {
			const update = randomBytes(300);
			const content: MailboxContent = { kind: 'update', topic, update };
			expect(open(sealMailboxEntry(KEY, ROOM, content))).toEqual(content);
			expect(sealMailboxEntries(KEY, ROOM, content, MAX_MAILBOX_ITEM_BYTES).map(open)).toEqual([content]);
			expect(open(forge(updatePlain(topic, update)))).toEqual(content);
		});
	}

	it(`a topic of ${MAX_TOPIC_LENGTH + 1} characters, or none, is refused by the writer and, sealed with the right key, by the reader`, () => {
		for (const topic of ['t'.repeat(MAX_TOPIC_LENGTH + 1), `${`${STRANGE}x`.padEnd(MAX_TOPIC_LENGTH, '👩')}x`, '']) {
			const content: MailboxContent = { kind: 'update', topic, update: Uint8Array.of(1) };
			refused(() => sealMailboxEntry(KEY, ROOM, content), MailboxEntryError, 'bad topic');
			refused(() => sealMailboxEntries(KEY, ROOM, content, MAX_MAILBOX_ITEM_BYTES), MailboxEntryError, 'bad topic');
			refused(() => open(forge(updatePlain(topic, Uint8Array.of(1)))), MailboxEntryError, 'bad topic');
		}
	});

	it(`an introduction of ${MAX_INTRODUCTION_BYTES} bytes fits one mailbox item and opens whole; one byte more is refused by the writer and the reader`, () => {
		for (const size of [MAX_INTRODUCTION_BYTES, 0]) {
			const content: MailboxContent = { kind: 'introduction', introduction: randomBytes(size) };
			const sealed = sealMailboxEntry(KEY, ROOM, content);
			expect(sealed.length).toBeLessThanOrEqual(MAX_MAILBOX_ITEM_BYTES);
			expect(open(sealed)).toEqual(content);
		}
		const over: MailboxContent = { kind: 'introduction', introduction: randomBytes(MAX_INTRODUCTION_BYTES + 1) };
		refused(() => sealMailboxEntry(KEY, ROOM, over), MailboxEntryError, 'introduction too large');
		refused(() => sealMailboxEntries(KEY, ROOM, over, MAX_MAILBOX_ITEM_BYTES), MailboxEntryError, 'introduction too large');
		refused(() => open(forge(concatBytes(Uint8Array.of(2), over.introduction))), MailboxEntryError, 'introduction too large');
	});

	it('content that just fits one item is one entry of exactly the item limit; one byte more is two parts within it that join whole', () => {
		const topic = 'chat/self/2026-11';
		// [kind][topic: varstring][update], plus the longest padding prefix, fills what the seal leaves.
		const fits = MAX_MAILBOX_ITEM_BYTES - SEAL_OVERHEAD - 4 - 1 - varString(topic).length;
		const one: MailboxContent = { kind: 'update', topic, update: randomBytes(fits) };
		const single = sealMailboxEntries(KEY, ROOM, one, MAX_MAILBOX_ITEM_BYTES);
		expect(single.map((entry) => entry.length)).toEqual([MAX_MAILBOX_ITEM_BYTES]);
		expect(open(single[0]!)).toEqual(one);

		const two: MailboxContent = { kind: 'update', topic, update: randomBytes(fits + 1) };
		const parts = sealMailboxEntries(KEY, ROOM, two, MAX_MAILBOX_ITEM_BYTES);
		expect(parts).toHaveLength(2);
		expect(parts.every((entry) => entry.length <= MAX_MAILBOX_ITEM_BYTES)).toBe(true);
		expect(joinMailboxParts(parts.map(open).reverse() as MailboxPart[])).toEqual(two);
	});

	it(`content cut into ${MAX_PARTS} parts, the most a group may have, joins whole in any order; one byte more is refused by the writer`, () => {
		// An item limit that leaves one byte of content per part.
		const limit = SEAL_OVERHEAD + PART_ROOM + 1;
		const topic = 't';
		const most: MailboxContent = { kind: 'update', topic, update: randomBytes(MAX_PARTS - updatePlain(topic, new Uint8Array(0)).length) };
		const entries = sealMailboxEntries(KEY, ROOM, most, limit);
		expect(entries).toHaveLength(MAX_PARTS);
		expect(entries.every((entry) => entry.length <= limit)).toBe(true);
		const parts = entries.map(open) as MailboxPart[];
		expect(parts.every((part) => part.kind === 'part' && part.count === MAX_PARTS && part.bytes.length === 1)).toBe(true);
		expect(joinMailboxParts([...parts.slice(1000), ...parts.slice(0, 1000).reverse()])).toEqual(most);
		refused(() => sealMailboxEntries(KEY, ROOM, { ...most, update: randomBytes(most.update.length + 1) }, limit), MailboxEntryError, 'too large for the mailbox');
	});

	it('an item limit that leaves no room for a part is refused by the writer, never answered with no entries at all', () => {
		const content: MailboxContent = { kind: 'update', topic: 't', update: randomBytes(100) };
		for (const limit of [SEAL_OVERHEAD + PART_ROOM, SEAL_OVERHEAD + 10, SEAL_OVERHEAD, 0, -1]) {
			refused(() => sealMailboxEntries(KEY, ROOM, content, limit), MailboxEntryError, 'no room for content', `a limit of ${limit} bytes`);
		}
		// Content small enough for one entry still fits a small limit.
		const small: MailboxContent = { kind: 'update', topic: 't', update: Uint8Array.of(9) };
		const entries = sealMailboxEntries(KEY, ROOM, small, SEAL_OVERHEAD + 10);
		expect(entries.map((entry) => entry.length)).toEqual([SEAL_OVERHEAD + 10]);
		expect(open(entries[0]!)).toEqual(small);
	});

	it('a part with a count or an index past the limits, sealed with the right key, is refused; the largest legal one is read', () => {
		const group = randomBytes(16);
		const largest = open(forge(partPlain(group, varUint(MAX_PARTS - 1), varUint(MAX_PARTS))));
		expect(largest).toMatchObject({ kind: 'part', index: MAX_PARTS - 1, count: MAX_PARTS, bytes: Uint8Array.of(7) });
		const past: [string, Uint8Array, Uint8Array][] = [
			[`a count of ${MAX_PARTS + 1}`, varUint(0), varUint(MAX_PARTS + 1)],
			['a count of 1', varUint(0), varUint(1)],
			['a count of 0', varUint(0), varUint(0)],
			['an index equal to the count', varUint(MAX_PARTS), varUint(MAX_PARTS)],
			['an index of 2^53', varUint(2 ** 53), varUint(2)],
			['a count of 2^53', varUint(0), varUint(2 ** 53)]
		];
		for (const [what, index, count] of past) refused(() => open(forge(partPlain(group, index, count))), MailboxEntryError, 'bad part', what);
		refused(() => open(forge(partPlain(group, OVERFLOWING_VARUINT, varUint(2)))), MailboxEntryError, 'malformed entry');
		refused(() => open(forge(partPlain(group, varUint(0), OVERFLOWING_VARUINT))), MailboxEntryError, 'malformed entry');
	});

	it('parts that join into what no writer cuts are refused: nothing, a part inside parts, a topic or an introduction past its limit', () => {
		const group = randomBytes(16);
		const cut = (plain: Uint8Array) => [open(forge(partPlain(group, varUint(0), varUint(2), plain.subarray(0, 5)))), open(forge(partPlain(group, varUint(1), varUint(2), plain.subarray(5))))] as MailboxPart[];
		refused(() => joinMailboxParts([]), MailboxEntryError, 'incomplete or mixed parts');
		refused(() => joinMailboxParts(cut(partPlain(randomBytes(16), varUint(0), varUint(2)))), MailboxEntryError, 'a part inside parts');
		refused(() => joinMailboxParts(cut(updatePlain('t'.repeat(MAX_TOPIC_LENGTH + 1), Uint8Array.of(1)))), MailboxEntryError, 'bad topic');
		refused(() => joinMailboxParts(cut(concatBytes(Uint8Array.of(2), randomBytes(MAX_INTRODUCTION_BYTES + 1)))), MailboxEntryError, 'introduction too large');
		const update = updatePlain('t'.repeat(MAX_TOPIC_LENGTH), Uint8Array.of(1, 2, 3));
		expect(joinMailboxParts(cut(update))).toEqual({ kind: 'update', topic: 't'.repeat(MAX_TOPIC_LENGTH), update: Uint8Array.of(1, 2, 3) });
	});
});

describe('mailbox entries a malicious server or a former device could leave', () => {
	it('every cut of a sealed entry, a byte after it, or the entry under another room fails the seal', () => {
		const sealed = sealMailboxEntry(KEY, ROOM, { kind: 'update', topic: 'chat/self/2026-11', update: randomBytes(40) });
		for (let length = 0; length < sealed.length; length++) refused(() => open(sealed.subarray(0, length)), CryptoError);
		refused(() => open(concatBytes(sealed, Uint8Array.of(0))), CryptoError);
		refused(() => openMailboxEntry(KEY, `${ROOM.slice(1)}0`, sealed), CryptoError);
		expect(open(sealed)).toMatchObject({ kind: 'update', topic: 'chat/self/2026-11' });
	});

	it('refuses plain texts sealed with the right key that no writer makes: kinds, cut headers, topics past the end or not UTF-8, broken padding', () => {
		const room = new TextEncoder().encode(ROOM);
		const group = randomBytes(16);
		const header = updatePlain('chat/self/2026-11', new Uint8Array(0));
		const partHeader = partPlain(group, varUint(1), varUint(2), new Uint8Array(0));
		const strange: [string, Uint8Array, string?][] = [
			['nothing at all', forge(new Uint8Array(0)), 'unknown entry kind'],
			['kind 0', forge(Uint8Array.of(0, 1, 2)), 'unknown entry kind 0'],
			['kind 4', forge(Uint8Array.of(4, 1, 2)), 'unknown entry kind 4'],
			['kind 255', forge(Uint8Array.of(255)), 'unknown entry kind 255'],
			...Array.from({ length: header.length - 1 }, (_, length): [string, Uint8Array] => [`an update cut after ${length + 1} bytes of its header`, forge(header.subarray(0, length + 1))]),
			...Array.from({ length: partHeader.length - 1 }, (_, length): [string, Uint8Array] => [`a part cut after ${length + 1} bytes of its header`, forge(partHeader.subarray(0, length + 1))]),
			// The topic's length runs past the plain text into the zeros that pad it.
			['a topic whose length runs into the padding', forge(concatBytes(Uint8Array.of(1, 20), new TextEncoder().encode('chat'))), 'malformed entry'],
			['a topic length of 2^53 − 1', forge(concatBytes(Uint8Array.of(1), varUint(Number.MAX_SAFE_INTEGER), Uint8Array.of(0x61))), 'malformed entry'],
			['a topic length that overflows a varuint', forge(concatBytes(Uint8Array.of(1), OVERFLOWING_VARUINT, Uint8Array.of(0x61))), 'malformed entry'],
			['a topic that is not UTF-8', forge(concatBytes(Uint8Array.of(1, 2, 0xff, 0xfe), Uint8Array.of(1))), 'malformed entry'],
			['no padding at all', seal(KEY, header, room)],
			['a padding length past the end', seal(KEY, concatBytes(varUint(300), header), room), 'length past the end'],
			['padding that is not zeros', seal(KEY, concatBytes(pad(header).subarray(0, -1), Uint8Array.of(1)), room), 'padding is not zeros'],
			['a padding length that overflows a varuint', seal(KEY, concatBytes(OVERFLOWING_VARUINT, header), room)]
		];
		for (const [what, sealed, reason] of strange) refused(() => open(sealed), MailboxEntryError, reason, what);
		// The whole headers, each with no bytes after, are what a writer may send.
		expect(open(forge(header))).toEqual({ kind: 'update', topic: 'chat/self/2026-11', update: new Uint8Array(0) });
		expect(open(forge(partHeader))).toMatchObject({ kind: 'part', index: 1, count: 2 });
	});
});
