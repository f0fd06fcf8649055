/**
 * What a device leaves in its account room's blind mailbox (see ../transport/signaling-protocol.ts)
 * for devices that are not online at the same time, sealed under the epoch's mailbox key:
 *
 *   entry = seal(mailboxKey, pad(plain), associated data = utf-8 room id)    pad(): ./padding.ts, to a few
 *                                                                           sizes, at most the item limit
 *   plain = [0x01][topic: varstring][Yjs update]      UPDATE: changes to one document
 *         | [0x02][introduction]                     INTRODUCTION: the newest device list and
 *                                                      heartbeat (../protocol/trust.ts)
 *         | [0x03][group: 16][index: varuint][count: varuint][bytes]
 *                                                    PART: an UPDATE too large for one entry, cut in
 *                                                    `count` parts; the parts' bytes in index order
 *                                                    are the UPDATE's plain text
 *
 * A device deposits its own changes while no other device of the account is connected; a device
 * that joins the room receives the entries and applies them like any update (updates are
 * idempotent, so an entry applied twice changes nothing). Each room has one introduction entry,
 * under a fixed id (INTRODUCTION_ENTRY_ID) that every deposit replaces and no device takes, so a
 * device that was away finds the newest device list there (after a key rotation, in the former
 * epoch's room) and the newest heartbeat.
 *
 * Limits, checked on both sides: a sealed entry is at most `maxEntryBytes` (the server's item limit,
 * which must leave room for a part's header and one byte); a group has at most MAX_PARTS parts; a
 * reader holds at most MAX_PENDING_GROUPS incomplete groups.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { open, randomBytes, seal, SEAL_OVERHEAD, toHex } from '../crypto';
import { MAX_TOPIC_LENGTH } from '../sync/protocol';
import { pad, unpad } from './padding';
import { MAX_INTRODUCTION_BYTES } from './trust';

const KIND_UPDATE = 1;
const KIND_INTRODUCTION = 2;
const KIND_PART = 3;
const GROUP_BYTES = 16;
/** Room for a part's header (kind, group, two varuints) inside one entry. */
const PART_HEADER_BYTES = 1 + GROUP_BYTES + 4 + 4;
/** The longest length prefix pad() writes for an entry (a varuint below 2^28). */
const PAD_PREFIX_BYTES = 4;
export const MAX_PARTS = 2048;
export const MAX_PENDING_GROUPS = 16;
export const INTRODUCTION_ENTRY_ID = 'introduction';

export type MailboxContent = { kind: 'update'; topic: string; update: Uint8Array } | { kind: 'introduction'; introduction: Uint8Array };
export type MailboxPart = { kind: 'part'; group: string; index: number; count: number; bytes: Uint8Array };

export class MailboxEntryError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'MailboxEntryError';
	}
}

function plainOf(content: MailboxContent): Uint8Array {
	const encoder = encoding.createEncoder();
	if (content.kind === 'update') {
		if (content.topic.length === 0 || content.topic.length > MAX_TOPIC_LENGTH) throw new MailboxEntryError('bad topic');
		encoding.writeUint8(encoder, KIND_UPDATE);
		encoding.writeVarString(encoder, content.topic);
		encoding.writeUint8Array(encoder, content.update);
	} else {
		if (content.introduction.length > MAX_INTRODUCTION_BYTES) throw new MailboxEntryError('introduction too large');
		encoding.writeUint8(encoder, KIND_INTRODUCTION);
		encoding.writeUint8Array(encoder, content.introduction);
	}
	return encoding.toUint8Array(encoder);
}

export function sealMailboxEntry(key: Uint8Array, room: string, content: MailboxContent): Uint8Array {
	return seal(key, pad(plainOf(content)), new TextEncoder().encode(room));
}

/** One sealed entry, or several PART entries when the content does not fit in `maxEntryBytes`. */
export function sealMailboxEntries(key: Uint8Array, room: string, content: MailboxContent, maxEntryBytes: number): Uint8Array[] {
	const plain = plainOf(content);
	const associated = new TextEncoder().encode(room);
	const roomForContent = maxEntryBytes - SEAL_OVERHEAD;
	if (plain.length + PAD_PREFIX_BYTES <= roomForContent) return [seal(key, pad(plain, roomForContent), associated)];
	const partBytes = roomForContent - PAD_PREFIX_BYTES - PART_HEADER_BYTES;
	// A limit that leaves no byte for a part would cut the content into no parts at all.
	if (partBytes < 1) throw new MailboxEntryError('the entry limit leaves no room for content');
	const count = Math.ceil(plain.length / partBytes);
	if (count > MAX_PARTS) throw new MailboxEntryError('too large for the mailbox');
	const group = randomBytes(GROUP_BYTES);
	const entries: Uint8Array[] = [];
	for (let index = 0; index < count; index++) {
		const encoder = encoding.createEncoder();
		encoding.writeUint8(encoder, KIND_PART);
		encoding.writeUint8Array(encoder, group);
		encoding.writeVarUint(encoder, index);
		encoding.writeVarUint(encoder, count);
		encoding.writeUint8Array(encoder, plain.subarray(index * partBytes, (index + 1) * partBytes));
		entries.push(seal(key, pad(encoding.toUint8Array(encoder), roomForContent), associated));
	}
	return entries;
}

/** Joins a complete group's parts (in any order) into the content they carry. */
export function joinMailboxParts(parts: MailboxPart[]): MailboxContent {
	const count = parts[0]?.count ?? 0;
	const ordered = [...parts].sort((a, b) => a.index - b.index);
	if (count === 0 || ordered.length !== count || ordered.some((part, index) => part.index !== index || part.count !== count || part.group !== parts[0]!.group)) {
		throw new MailboxEntryError('incomplete or mixed parts');
	}
	const total = ordered.reduce((sum, part) => sum + part.bytes.length, 0);
	const plain = new Uint8Array(total);
	let offset = 0;
	for (const part of ordered) {
		plain.set(part.bytes, offset);
		offset += part.bytes.length;
	}
	const content = readPlain(plain);
	if (content.kind === 'part') throw new MailboxEntryError('a part inside parts');
	return content;
}

/** Throws on an entry that is not ours, tampered, or malformed. */
export function openMailboxEntry(key: Uint8Array, room: string, sealed: Uint8Array): MailboxContent | MailboxPart {
	const padded = open(key, sealed, new TextEncoder().encode(room));
	let plain: Uint8Array;
	try {
		plain = unpad(padded);
	} catch (error) {
		throw new MailboxEntryError((error as Error).message);
	}
	return readPlain(plain);
}

function readPlain(plain: Uint8Array): MailboxContent | MailboxPart {
	try {
		const decoder = decoding.createDecoder(plain);
		const kind = decoding.readUint8(decoder);
		if (kind === KIND_UPDATE) {
			const topic = decoding.readVarString(decoder);
			if (topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) throw new MailboxEntryError('bad topic');
			return { kind: 'update', topic, update: plain.subarray(decoder.pos) };
		}
		if (kind === KIND_INTRODUCTION) {
			const introduction = plain.subarray(decoder.pos);
			if (introduction.length > MAX_INTRODUCTION_BYTES) throw new MailboxEntryError('introduction too large');
			return { kind: 'introduction', introduction };
		}
		if (kind === KIND_PART) {
			const group = toHex(decoding.readUint8Array(decoder, GROUP_BYTES));
			const index = decoding.readVarUint(decoder);
			const count = decoding.readVarUint(decoder);
			if (count < 2 || count > MAX_PARTS || index >= count) throw new MailboxEntryError('bad part');
			return { kind: 'part', group, index, count, bytes: plain.subarray(decoder.pos) };
		}
		throw new MailboxEntryError(`unknown entry kind ${kind}`);
	} catch (error) {
		if (error instanceof MailboxEntryError) throw error;
		throw new MailboxEntryError(`malformed entry: ${(error as Error).message}`);
	}
}
